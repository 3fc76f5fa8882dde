// What the operator can do: each action asks first when the console does, calls the API,
// says how it went, and has the page read again.
import { askCount, confirmAction } from "./dialogs.js";
import { el, toast } from "./dom.js";
import { number, oneLine, shortId } from "./format.js";

export class Actions {
  /** `changed()` runs after an action went through (the page reads the queue again). */
  constructor({ api, state, changed }) {
    this.api = api;
    this.state = state;
    this.changed = changed;
  }

  async #act(promise, done) {
    try {
      const reply = await promise;
      toast(done(reply));
      this.changed();
    } catch (error) {
      toast(error.status === 403 ? "Not allowed with this access." : oneLine(error.message, 300));
    }
  }

  async cancel(job) {
    const note = job.status === "running" ? "\nIts handler is interrupted." : "";
    if (!(await confirmAction("Cancel job", `Cancel this ${job.status} job?\n\n${oneLine(job.name, 80)}\n${oneLine(job.id)}${note}`))) return;
    await this.#act(this.api.cancelJob(job.id), () => `Cancel requested: ${shortId(job.id)}`);
  }

  async retry(job) {
    await this.#act(this.api.retryDeadLetter(job.id), () => `Requeued ${shortId(job.id)} (${oneLine(job.name, 40)})`);
  }

  /** `dead` is the dead-letter count the header shows, named in the question. */
  async retryAll(dead) {
    const question = dead === 1 ? "Move the only dead letter back to the pending queue?" : `Move all ${number(dead)} dead letters back to the pending queue?`;
    if (!(await confirmAction("Retry all dead letters", question))) return;
    await this.#act(this.api.retryAllDeadLetters(), (r) => `${number(r.count)} dead letters requeued`);
  }

  async scale(worker, delta) {
    const wid = oneLine(worker.id, 80);
    const now = worker.concurrency;
    if (delta < 0 && now === 0) {
      toast(`${wid}: concurrency is already 0.`);
      return;
    }
    const goal = Math.max(0, now + delta);
    if (goal === 0 && !(await this.#confirmZero(wid))) return;
    await this.#act(this.api.scaleWorker(worker.id, { delta }), () => `${wid}: concurrency ${now} → ${goal}`);
  }

  async setConcurrency(worker) {
    const wid = oneLine(worker.id, 80);
    const now = worker.concurrency;
    const count = await askCount("Set concurrency", `How many jobs ${wid} runs at once (now ${now}):`, now);
    if (count === null || count === now) return;
    if (count === 0 && !(await this.#confirmZero(wid))) return;
    await this.#act(this.api.scaleWorker(worker.id, { concurrency: count }), () => `${wid}: concurrency ${now} → ${count}`);
  }

  #confirmZero(wid) {
    return confirmAction("Scale to zero", `Set the concurrency of ${wid} to 0?\nIt takes no new jobs; running ones finish.`);
  }

  async trigger(schedule) {
    const name = oneLine(schedule.name, 80);
    await this.#act(this.api.triggerSchedule(schedule.name), (r) => `${name}: queued ${shortId(r.job_id)}`);
  }

  async toggleSchedule(schedule) {
    const name = oneLine(schedule.name, 80);
    const call = schedule.paused ? this.api.resumeSchedule(schedule.name) : this.api.pauseSchedule(schedule.name);
    await this.#act(call, () => `${name}: ${schedule.paused ? "resumed" : "paused"}`);
  }

  async togglePause() {
    const pausing = !this.state.paused;
    await this.#act(pausing ? this.api.pauseQueue() : this.api.resumeQueue(), () =>
      pausing ? "Queue paused: running jobs go on, no new ones start" : "Queue resumed");
  }

  /** The buttons of one row for one of its tab's actions; `current()` is the row's data now
   * (rows are updated in place, so a button acts on what the row shows when pressed), `key`
   * what names it (a job's or worker's id, a schedule's name). */
  buttons(action, current, key) {
    const id = oneLine(key, 80);
    const button = (text, name, label, handler, className = "") =>
      el("button", { text, className: `op ${className}`.trim(), attrs: { type: "button", "aria-label": label, "data-action": name }, on: { click: () => handler(current()) } });
    if (action === "cancel") return [button("Cancel", "cancel", `Cancel ${id}`, (j) => this.cancel(j), "danger")];
    if (action === "retry") return [button("Retry", "retry", `Retry ${id}`, (j) => this.retry(j))];
    if (action === "scale") {
      return [
        button("−", "scale", `Scale down ${id}`, (w) => this.scale(w, -1)),
        button("+", "scale", `Scale up ${id}`, (w) => this.scale(w, 1)),
        button("Set…", "set", `Set the concurrency of ${id}`, (w) => this.setConcurrency(w)),
      ];
    }
    if (action === "schedule") {
      return [
        button("Run now", "trigger", `Run ${id} now`, (s) => this.trigger(s)),
        button("Pause", "toggle", `Pause or resume ${id}`, (s) => this.toggleSchedule(s)),
      ];
    }
    return [];
  }
}
