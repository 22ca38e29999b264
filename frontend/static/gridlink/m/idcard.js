// The checks of a person's details on the phone, before they are queued: the same rules as the
// server's (incidents/validators.py, which decides), so that a wrong digit is caught while the
// person still stands there, not hours later when the queued registration reaches the server.
//
// A resident ID number (GB 11643-1999): 17 digits and a check character (a digit or X), the
// birth date in digits 7–14 (a real date, from 1900 to today), and the check character: the sum of
// the first 17 digits times the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, modulo 11, indexes
// "10X98765432". Pure functions: node --test runs them (frontend/tests/idcard.test.mjs).

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";
// A mobile, a landline with its area code (dash optional) or a local number: validators.py's _PHONE.
const PHONE = /^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{7,8})$/;

/** The ID number as the server keeps it: trimmed, a final "x" upper-cased. */
export function normaliseIdNumber(value) {
  return String(value ?? "").trim().toUpperCase();
}

/** The check character of the first 17 digits. */
export function idCheckCharacter(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

/**
 * What is wrong with an ID number, or null when it passes: "format" (not 17 digits and a digit or
 * X), "date" (no real birth date, before 1900 or after `today`), "check" (the check character).
 * `today`: a Date (the calendar date on the phone).
 */
export function idNumberProblem(value, today = new Date()) {
  const id = normaliseIdNumber(value);
  if (!/^\d{17}[\dX]$/.test(id)) return "format";
  const [year, month, day] = [Number(id.slice(6, 10)), Number(id.slice(10, 12)), Number(id.slice(12, 14))];
  const born = new Date(Date.UTC(year, month - 1, day));
  const real = born.getUTCFullYear() === year && born.getUTCMonth() === month - 1 && born.getUTCDate() === day;
  const todayUtc = Date.UTC(today.getFullYear(), today.getMonth(), today.getDate());
  if (!real || year < 1900 || born.getTime() > todayUtc) return "date";
  if (idCheckCharacter(id.slice(0, 17)) !== id[17]) return "check";
  return null;
}

/** The phone number as the server keeps it: trimmed, without spaces. */
export function normalisePhone(value) {
  return String(value ?? "").trim().replace(/ /g, "");
}

/** Whether a phone number passes (an empty one does: it is optional). */
export function phoneOk(value) {
  const phone = normalisePhone(value);
  return phone === "" || PHONE.test(phone);
}

/**
 * The problems of a person's details {name, phone, id_number, role} as {field: code}, empty when
 * they may be sent. Codes: "required" (name), "phone", and those of idNumberProblem.
 */
export function personProblems(person, today = new Date()) {
  const problems = {};
  if (!String(person.name ?? "").trim()) problems.name = "required";
  if (!phoneOk(person.phone)) problems.phone = "phone";
  const id = normaliseIdNumber(person.id_number);
  if (id) {
    const problem = idNumberProblem(id, today);
    if (problem) problems.id_number = problem;
  }
  return problems;
}
