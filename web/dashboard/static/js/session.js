// Signing in and out. The page starts with GET api/v1/session: signed in (a cookie, or a
// server without keys) shows the dashboard, otherwise the sign-in form.
import { $, setText, show } from "./dom.js";

export class Session {
  /** `started(session)` builds the dashboard for a session; `ended()` tears it down. */
  constructor({ api, started, ended }) {
    this.api = api;
    this.started = started;
    this.ended = ended;
  }

  async boot() {
    try {
      await this.started(await this.api.session());
    } catch (error) {
      this.showLogin(error.status === 401 ? "" : error.message);
    }
  }

  showLogin(message = "") {
    this.ended();
    show("app", false);
    show("login", true);
    setText("login-error", message);
    $("login-key").focus();
  }

  async signIn(event) {
    event.preventDefault();
    const input = $("login-key");
    const key = input.value;
    if (!key) return;
    $("login-submit").disabled = true;
    try {
      const session = await this.api.signIn(key);
      input.value = "";
      await this.started(session);
    } catch (error) {
      setText("login-error", error.status === 401 ? "That key is not valid here." : error.message);
    } finally {
      $("login-submit").disabled = false;
    }
  }

  async signOut() {
    try {
      await this.api.signOut();
    } catch {
      /* signed out either way */
    }
    this.showLogin("Signed out.");
  }

  /** After the event stream failed: true if the session still holds (try again). */
  async stillSignedIn() {
    try {
      await this.api.session();
      return true;
    } catch (error) {
      if (error.status === 401) {
        this.showLogin("Your session has ended. Sign in again.");
        return false;
      }
      return true;
    }
  }
}
