// The person's details checked on the phone as the server checks them (incidents/validators.py):
// the ID number's format, birth date and check character (GB 11643), the phone number.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  idCheckCharacter,
  idNumberProblem,
  normaliseIdNumber,
  personProblems,
  phoneOk,
} from "../static/gridlink/m/idcard.js";

const TODAY = new Date(2026, 10, 24); // 24 Nov 2026 on the phone

test("the check character of the standard's examples, X included", () => {
  assert.equal(idCheckCharacter("11010519491231002"), "X");
  assert.equal(idCheckCharacter("44030019900307123"), "4");
  assert.equal(idCheckCharacter("33011020000229001"), "5");
});

test("good numbers pass; a lower-case x and spaces around are accepted", () => {
  for (const id of ["11010519491231002X", "440300199003071234", "330110200002290015", " 11010519491231002x "]) {
    assert.equal(idNumberProblem(id, TODAY), null, id);
  }
  assert.equal(normaliseIdNumber(" 11010519491231002x "), "11010519491231002X");
});

test("one wrong digit is caught by the check character", () => {
  assert.equal(idNumberProblem("440300199003071235", TODAY), "check");
  assert.equal(idNumberProblem("440300199003071244", TODAY), "check"); // a typo in a middle digit
  assert.equal(idNumberProblem("110105194912310020", TODAY), "check"); // 0 where X belongs
});

test("17 digits and a digit or X, nothing else", () => {
  for (const id of ["", "4403001990030712", "4403001990030712345", "44030019900307123Y", "4403001990O3071234", "X40300199003071234"]) {
    assert.equal(idNumberProblem(id, TODAY), "format", id);
  }
});

test("the birth date must be a real day from 1900 to today", () => {
  const withCheck = (first17) => first17 + idCheckCharacter(first17);
  assert.equal(idNumberProblem(withCheck("33011019000101001"), TODAY), null);
  assert.equal(idNumberProblem(withCheck("33011018991231001"), TODAY), "date"); // before 1900
  assert.equal(idNumberProblem(withCheck("33011020010229001"), TODAY), "date"); // 2001 was no leap year
  assert.equal(idNumberProblem(withCheck("33011020001301001"), TODAY), "date"); // month 13
  assert.equal(idNumberProblem(withCheck("33011020000431001"), TODAY), "date"); // 31 April
  assert.equal(idNumberProblem(withCheck("33011020261124001"), TODAY), null); // born today
  assert.equal(idNumberProblem(withCheck("33011020261125001"), TODAY), "date"); // tomorrow
});

test("phone numbers: mobile, landline with area code, local; empty is fine", () => {
  for (const phone of ["", "13812345678", "138 1234 5678", "0571-88888888", "057188888888", "88888888"]) {
    assert.equal(phoneOk(phone), true, phone);
  }
  for (const phone of ["12812345678", "1381234567", "+8613812345678", "phone"]) {
    assert.equal(phoneOk(phone), false, phone);
  }
});

test("a person's details: the name is required, the ID number optional but checked", () => {
  assert.deepEqual(personProblems({ name: "李四", phone: "", id_number: "", role: "party" }, TODAY), {});
  assert.deepEqual(personProblems({ name: " ", phone: "123", id_number: "440300199003071235" }, TODAY),
    { name: "required", phone: "phone", id_number: "check" });
  assert.deepEqual(personProblems({ name: "李四", id_number: "11010519491231002x" }, TODAY), {});
});
