/**
 * Text that PostgreSQL can store as it was sent. A NUL character is refused by PostgreSQL's text type (error
 * 22021), and an unpaired UTF-16 surrogate (JSON allows "\ud800") has no UTF-8 form, so it would be stored as
 * U+FFFD, changed without a word. Both are refused at the edge — the API's schemas and the CSV readers — with
 * the field named, and so is text longer than its field allows.
 */
export type TextProblem = 'nul' | 'lone_surrogate' | 'invalid_utf8' | 'too_long';

const LONE_SURROGATE = /\p{Surrogate}/u;

export const TEXT_PROBLEMS: Record<TextProblem, string> = {
  nul: 'must not contain NUL (U+0000) characters',
  lone_surrogate: 'must not contain unpaired UTF-16 surrogates (\\ud800–\\udfff without their pair)',
  invalid_utf8: 'is not valid UTF-8',
  too_long: 'is too long',
};

export interface TextRules {
  /** Longest text accepted, in UTF-16 code units (String#length). */
  maxLength: number;
  /**
   * Refuse U+FFFD, which is what decoding bytes that are not UTF-8 leaves behind (the CSV readers): a file that
   * is not UTF-8 is quarantined rather than stored with its characters replaced.
   */
  decodedFromBytes?: boolean;
}

/** What is wrong with `s` as a stored text value, or undefined when nothing is. */
export function textProblem(s: string, rules: TextRules): TextProblem | undefined {
  if (s.length > rules.maxLength) return 'too_long';
  if (s.includes('\0')) return 'nul';
  if (rules.decodedFromBytes && s.includes('\uFFFD')) return 'invalid_utf8';
  if (LONE_SURROGATE.test(s)) return 'lone_surrogate';
  return undefined;
}
