// The ranking page's "Publish" button (governance roles, a month that has ended and is not
// published yet). A first click asks to confirm on the button itself (publishing is final); the
// second posts {month} to the API with the session's CSRF token and a fresh Idempotency-Key
// (../m/api.js), then reloads the page, which shows the publication. A refusal (published
// meanwhile: 409; not ended: 400) shows the server's own message. Configuration and words come
// from #ranking-publish-config (json_script); no globals.
import { createApi } from "../m/api.js";

const config = JSON.parse(/** @type {HTMLElement} */ (document.getElementById("ranking-publish-config")).textContent);
const button = /** @type {HTMLButtonElement} */ (document.querySelector("[data-publish]"));
const message = /** @type {HTMLElement} */ (document.querySelector("[data-publish-message]"));
const api = createApi({ csrf: config.csrf, fallback: config.text.failed, cookies: () => document.cookie });
const label = button.textContent;
let armed = false;

function say(text, error = false) {
  message.textContent = text;
  message.classList.toggle("is-error", error);
}

button.addEventListener("click", async () => {
  if (!armed) {
    armed = true;
    button.textContent = config.text.confirmButton;
    say(config.text.confirm);
    return;
  }
  armed = false;
  button.disabled = true;
  say(config.text.publishing);
  const result = await api.post(config.url, { month: config.month });
  if (result.ok) {
    say(config.text.done);
    document.location.reload();
    return;
  }
  button.disabled = false;
  button.textContent = label;
  say(result.message, true);
});
