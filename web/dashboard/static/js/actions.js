// What the operator can do: each action asks first when the console does, calls the API,
// says how it went, and has the page read again. Jobs are acted on with an explicit action
// (POST …/jobs/bulk, one id or many), so a job that changed state meanwhile is left as it
// is and said so, never cancelled when it was meant to be deleted or the other way round.
import { askCount, confirmAction } from "./dialogs.js";
import { el, toast } from "./dom.js";
import { duration, number, oneLine, shortId } from "./format.js";

const plural = (n, one, many = `${one}s`) => `${number(n)} ${n === 1 ? one : many}`;

/** The actions on jobs: which jobs each fits, its words, and whether it asks first. */
export const JOB_ACTIONS = {
  cancel: {
    label: "Cancel",
    danger: true,
    fits: (job, vocab) => !vocab.finished.has(job.status),
    ask: (n, running) => `Cancel ${plural(n, "job")}?${running ? "\nRunning ones are interrupted." : ""}`,
    done: "cancelled",
  },
  run_now: {
    label: "Run now",
    fits: (job) => job.status === "scheduled",
    ask: (n) => `Run ${plural(n, "delayed job")} now?`,
    done: "queued to run now",
  },
  retry: {
    label: "Retry",
    fits: (job) => job.status === "failed",
    ask: (n) => `Send ${plural(n, "dead letter")} back to the queue?`,
    done: "requeued",
  },
  delete: {
    label: "Delete",
    danger: true,
    fits: (job, vocab) => vocab.finished.has(job.status),
    ask: (n) => `Delete ${plural(n, "job")}?\nTheir records, results and errors go; this cannot be undone.`,
    done: "deleted",
  },
};

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
      return reply;
    } catch (error) {
      toast(error.status === 403 ? "Not allowed with this access." : oneLine(error.message, 300));
      return null;
    }
  }

  /** One job: cancel, run_now, retry or delete. Cancel and delete ask first. */
  async onJob(action, job) {
    const spec = JOB_ACTIONS[action];
    if (action === "cancel") {
      const note = job.status === "running" ? "\nIts handler is interrupted." : "";
      if (!(await confirmAction("Cancel job", `Cancel this ${job.status} job?\n\n${oneLine(job.name, 80)}\n${oneLine(job.id)}${note}`))) return;
    } else if (action === "delete") {
      if (!(await confirmAction("Delete job", `Delete this ${job.status} job?\n\n${oneLine(job.name, 80)}\n${oneLine(job.id)}\nIts record goes; this cannot be undone.`))) return;
    }
    await this.#act(this.api.bulk(action, [job.id]), (r) =>
      r.count ? `${shortId(job.id)} ${spec.done}` : `${shortId(job.id)} was left as it is: it is ${job.status === "scheduled" ? "no longer scheduled" : "in another state now"}`);
  }

  /** The selected jobs: one confirmation naming how many the action fits. Returns the ids
   * it was applied to (to take out of the selection). */
  async onMany(action, jobs) {
    const spec = JOB_ACTIONS[action];
    const fitting = jobs.filter((job) => spec.fits(job, this.state.vocab));
    if (!fitting.length) {
      toast(`${spec.label}: none of the ${plural(jobs.length, "selected job")} fits.`);
      return [];
    }
    const others = jobs.length - fitting.length;
    const running = fitting.some((job) => job.status === "running");
    const rest = others ? `\n(${plural(others, "other selected job")} ${others === 1 ? "is" : "are"} left as ${others === 1 ? "it is" : "they are"}.)` : "";
    if (!(await confirmAction(`${spec.label}: ${number(fitting.length)}`, spec.ask(fitting.length, running) + rest))) return [];
    const reply = await this.#act(this.api.bulk(action, fitting.map((job) => job.id)), (r) =>
      `${plural(r.count, "job")} ${spec.done}${r.skipped.length ? `; ${plural(r.skipped.length, "job")} had changed and ${r.skipped.length === 1 ? "was" : "were"} left` : ""}`);
    return reply ? reply.done : [];
  }

  /** `dead` is the dead-letter count the header shows, named in the question. */
  async retryAll(dead) {
    const question = dead === 1 ? "Move the only dead letter back to the pending queue?" : `Move all ${number(dead)} dead letters back to the pending queue?`;
    if (!(await confirmAction("Retry all dead letters", question))) return;
    await this.#act(this.api.retryAllDeadLetters(), (r) => `${plural(r.count, "dead letter")} requeued`);
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

  /** A limit's concurrency or rate, asked for (the dialog is the confirmation), or the limit
   * removed after a confirmation. Its other figures stay as they are. */
  async changeLimit(limit, what) {
    const key = oneLine(limit.key, 80);
    const current = limit[what] ?? (what === "rate" ? 10 : 1);
    const question = what === "concurrency"
      ? `How many jobs under ${key} may run at once (0 pauses them; now ${limit.concurrency ?? "no limit"}):`
      : `How many may start under ${key} per ${duration(limit.per)} (now ${limit.rate ?? "no limit"}):`;
    const value = await askCount(`Limit ${key}`, question, current);
    if (value === null || value === limit[what]) return;
    const body = { concurrency: limit.concurrency, rate: limit.rate, per: limit.per, [what]: value };
    if (body.rate === 0) body.rate = null;
    if (body.rate === null) delete body.per;
    if (body.concurrency === null && body.rate === null) return;
    await this.#act(this.api.setLimit(limit.key, body), (l) => `${key}: concurrency ${l.concurrency ?? "–"}, rate ${l.rate ?? "–"}`);
  }

  async removeLimit(limit) {
    const key = oneLine(limit.key, 80);
    const held = limit.throttled ? `\n${plural(limit.throttled, "throttled job")} then start${limit.throttled === 1 ? "s" : ""} unthrottled.` : "";
    if (!(await confirmAction("Remove limit", `Remove the limit on ${key}?${held}`))) return;
    await this.#act(this.api.removeLimit(limit.key), () => `${key}: limit removed`);
  }

  async togglePause() {
    const pausing = !this.state.paused;
    await this.#act(pausing ? this.api.pauseQueue() : this.api.resumeQueue(), () =>
      pausing ? "Queue paused: running jobs go on, no new ones start" : "Queue resumed");
  }

  /** The buttons of one row (or the job page) for one action; `current()` is the row's data
   * now (rows are updated in place, so a button acts on what the row shows when pressed),
   * `key` what names it. A job action's button carries `fits(row)`: the table hides it on a
   * row it does not fit. */
  buttons(action, current, key) {
    const id = oneLine(key, 80);
    const button = (text, name, label, handler, className = "") =>
      el("button", { text, className: `op ${className}`.trim(), attrs: { type: "button", "aria-label": label, "data-action": name }, on: { click: () => handler(current()) } });
    const spec = JOB_ACTIONS[action];
    if (spec) {
      const node = button(spec.label, action, `${spec.label} ${id}`, (job) => this.onJob(action, job), spec.danger ? "danger" : "");
      node.fits = (job) => spec.fits(job, this.state.vocab);
      return [node];
    }
    if (action === "scale") {
      return [
        button("−", "scale", `Scale down ${id}`, (w) => this.scale(w, -1)),
        button("+", "scale", `Scale up ${id}`, (w) => this.scale(w, 1)),
        button("Set…", "set", `Set the concurrency of ${id}`, (w) => this.setConcurrency(w)),
      ];
    }
    if (action === "limit") {
      return [
        button("Concurrency…", "concurrency", `Set the concurrency of ${id}`, (l) => this.changeLimit(l, "concurrency")),
        button("Rate…", "rate", `Set the rate of ${id}`, (l) => this.changeLimit(l, "rate")),
        button("Remove", "remove", `Remove the limit on ${id}`, (l) => this.removeLimit(l), "danger"),
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
