/**
 * PostgreSQL's text form of a one-dimensional array (`{a,"b c",NULL}`), for a parameter cast in SQL (`$1::text[]`).
 *
 * node-postgres turns a JS array parameter into the same text, quoting and escaping every element with two
 * regular-expression replacements; for the 500-event batches of POST /feedback that was a noticeable part of the
 * server's time per batch (docs/benchmarks/feedback.md, "Batches"). Here numbers go as their decimal form, strings
 * without a quote or a backslash are quoted as they are, and only the others are escaped. array-literal.test.ts
 * compares the arrays PostgreSQL reads from both forms.
 */
export function arrayLiteral(values: readonly (string | number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'number') out += String(v);
    else if (NEEDS_ESCAPE.test(v)) out += `"${v.replace(ESCAPED, '\\$&')}"`;
    else out += `"${v}"`;
  }
  return out + '}';
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;
