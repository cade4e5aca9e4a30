/**
 * A platform's user ids (docs/api.md, "Your user ids"): stored as text in users.external_id; an integer id is
 * the same id as its decimal string, and comes back as a number.
 */

/** A platform's own user id (users.external_id's CHECK of migration 071); an integer id is its decimal string. */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The stored form of an id as a request gives it. */
export function userKey(id: number | string): string {
  return typeof id === 'number' ? String(id) : id;
}

const INTEGER = /^[1-9][0-9]{0,15}$/;

/** The id as answers show it: a number when it is an integer's decimal form (as before string ids), else the string. */
export function publicUserId(key: string): number | string {
  if (INTEGER.test(key)) {
    const n = Number(key);
    if (Number.isSafeInteger(n)) return n;
  }
  return key;
}
