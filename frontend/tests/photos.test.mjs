// The photos of an on-site report checked on the phone: at most three, each within the server's
// size limit, JPEG, PNG or WebP; a file left out is named with the reason.
import assert from "node:assert/strict";
import { test } from "node:test";

import { addPhotos, megabytes, photoType } from "../static/gridlink/m/photos.js";

const MB = 1024 * 1024;
const LIMITS = { maxCount: 3, maxBytes: 8 * MB };
const file = (name, type, size) => ({ name, type, size });

test("up to three photos are kept, in the order picked", () => {
  const { photos, problems } = addPhotos([], [file("1.jpg", "image/jpeg", MB), file("2.png", "image/png", 10),
    file("3.webp", "image/webp", 10)], LIMITS);
  assert.deepEqual(photos.map((p) => [p.name, p.type, p.size]), [["1.jpg", "image/jpeg", MB], ["2.png", "image/png", 10],
    ["3.webp", "image/webp", 10]]);
  assert.equal(photos[0].blob.name, "1.jpg"); // the file itself, as the camera wrote it
  assert.deepEqual(problems, []);
});

test("a fourth photo is left out, also when picked later", () => {
  const first = addPhotos([], [file("1.jpg", "image/jpeg", 10), file("2.jpg", "image/jpeg", 10)], LIMITS);
  const second = addPhotos(first.photos, [file("3.jpg", "image/jpeg", 10), file("4.jpg", "image/jpeg", 10)], LIMITS);
  assert.deepEqual(second.photos.map((p) => p.name), ["1.jpg", "2.jpg", "3.jpg"]);
  assert.deepEqual(second.problems, [{ code: "count", name: "4.jpg" }]);
});

test("too large, empty, and not an image the server takes: left out with the reason", () => {
  const { photos, problems } = addPhotos([], [
    file("big.jpg", "image/jpeg", 8 * MB + 1),
    file("max.jpg", "image/jpeg", 8 * MB),
    file("scan.pdf", "application/pdf", 10),
    file("iphone.heic", "image/heic", 10),
    file("zero.jpg", "image/jpeg", 0),
  ], LIMITS);
  assert.deepEqual(photos.map((p) => p.name), ["max.jpg"]);
  assert.deepEqual(problems, [{ code: "size", name: "big.jpg" }, { code: "type", name: "scan.pdf" },
    { code: "type", name: "iphone.heic" }, { code: "empty", name: "zero.jpg" }]);
});

test("a file without a type is judged by its name", () => {
  assert.equal(photoType(file("IMG_1.JPG", "", 1)), "image/jpeg");
  assert.equal(photoType(file("a.webp", "", 1)), "image/webp");
  assert.equal(photoType(file("a.txt", "", 1)), "");
  assert.equal(photoType(file("a", "image/jpg", 1)), "image/jpeg");
});

test("the size limit in megabytes", () => {
  assert.equal(megabytes(8 * MB), "8");
  assert.equal(megabytes(1.5 * MB), "1.5");
  assert.equal(megabytes(12.4 * MB), "12");
});
