// A job's timeline: its events as the server's event log has them (GET …/jobs/{id}/events),
// described as the console describes them. Read in bounded steps when the page opens, then
// from where the last read stopped whenever an event of the job goes by, so an attempt, a
// retry or what the handler emitted appears as it happens.
import { duration, priorityLabel } from "./format.js";

const MAX_STEPS = 20; // reads when the page opens (each at most 10,000 log entries)
const KEEP = 500; // events kept on the page: the newest

/** What happened, in a few words (console/timeline.py's `describe_event`). */
export function describe(event) {
  const data = event.data;
  switch (event.type) {
    case "JOB_SUBMITTED": {
      let text = `submitted (${event.status}`;
      if (Number.isInteger(data.priority)) text += `, priority ${priorityLabel(data.priority)}`;
      if (data.delay) text += `, delay ${duration(Number(data.delay))}`;
      return `${text})`;
    }
    case "JOB_STARTED":
      return `started on ${data.worker ?? "?"} (attempt ${data.attempt ?? "?"})`;
    case "JOB_COMPLETED":
      return "completed" + (data.runtime !== undefined ? ` in ${duration(Number(data.runtime))}` : "");
    case "JOB_FAILED": {
      const text = `failed: ${data.error_type ?? "Error"}: ${data.error ?? ""}`.replace(/[: ]+$/, "");
      return data.will_retry ? `${text} (retry in ${duration(Number(data.retry_in) || 0)})` : `${text} → dead letter`;
    }
    case "JOB_CANCELLED":
      if (data.reason === "parent") return `cancelled: ${data.message ?? `parent ${data.parent}`}`;
      return `cancelled (${data.was ?? data.reason ?? "while running"})`;
    case "JOB_RELEASED": // workflows: every parent completed
      return event.status === "scheduled" ? "released: its parents completed (now its delay)" : "released: its parents completed";
    case "JOB_EXPIRED":
      return `expired before it started (was ${data.was ?? "pending"}): it never ran`;
    case "JOB_REQUEUED":
      if (data.reason === "parent_retried") return `waiting again: its parent ${data.parent ?? "?"} was retried`;
      if (data.reason === "retry") return event.status === "waiting" ? "retried: waiting for its parents again" : "retried from the dead-letter queue";
      if (data.reason === "run_now") return "run now (was delayed)";
      if (data.reason === "stalled") return `requeued: worker ${data.worker ?? "?"} stopped heartbeating`;
      return `handed back to the queue (${data.reason ?? "requeued"})`;
    case "SCHEDULE_FIRED":
      return `queued by schedule ${data.schedule ?? "?"}${data.manual ? " (triggered by hand)" : ""}`;
    default: {
      const json = Object.keys(data).length ? ` ${JSON.stringify(data)}` : "";
      return `${event.type}${json.length > 200 ? json.slice(0, 199) + "…" : json}`;
    }
  }
}

export class JobTimeline {
  constructor({ api }) {
    this.api = api;
    this.reset(null);
  }

  /** Forget what was read: a new job is on screen. */
  reset(jobId) {
    this.jobId = jobId;
    this.events = [];
    this.dropped = 0; // events read but not kept (past KEEP)
    this.after = undefined; // where the next read resumes; null: the story is complete
    this.complete = null; // the `finished_at` of the job whose story was read to its end
    this.trimmed = false;
  }

  /** Read what is new of `job` (as just read); `finished`: it is in a finished state. A
   * job finished again since its story was complete (retried) is read on from there. */
  async read(job, finished) {
    const jobId = this.jobId;
    if (this.after === null && finished && job.finished_at === this.complete) return false;
    let steps = 0;
    let changed = false;
    for (;;) {
      const page = await this.api.jobEvents(jobId, this.after ?? this.lastId());
      if (jobId !== this.jobId) return false; // another job is on screen meanwhile
      if (this.after === undefined) this.trimmed = page.trimmed;
      this.#keep(page.events);
      changed ||= page.events.length > 0;
      this.after = page.next;
      if (page.next === null) this.complete = job.finished_at;
      if (!page.more || ++steps >= MAX_STEPS) return changed;
    }
  }

  /** The last event read: a job that left its finished state (retried) resumes there. */
  lastId() {
    return this.events.length ? this.events[this.events.length - 1].id : undefined;
  }

  #keep(events) {
    const known = new Set(this.events.slice(-events.length).map((e) => e.id));
    this.events.push(...events.filter((e) => !known.has(e.id)));
    if (this.events.length > KEEP) {
      this.dropped += this.events.length - KEEP;
      this.events.splice(0, this.events.length - KEEP);
    }
  }
}
