// One EventSource on api/v1/events. Events are queued and handed over in batches at most
// a few times a second (the first at once after a quiet spell), so a flood of events costs
// a few redraws, not one per event. The browser reconnects by itself and sends the last
// event id (Last-Event-ID); when it gives up (the stream answered with an error status),
// we open a new one that resumes from the last id we saw.

const TYPES = [
  "JOB_SUBMITTED", "JOB_STARTED", "JOB_PROGRESS", "JOB_COMPLETED", "JOB_FAILED",
  "JOB_CANCELLED", "JOB_REQUEUED", "JOBS_PURGED", "JOB_SERVICE_WORKERS_STARTED",
  "JOB_SERVICE_WORKERS_STOPPED", "JOB_SERVICE_WORKERS_SCALED", "QUEUE_PAUSED",
  "QUEUE_RESUMED", "SCHEDULE_FIRED", "SCHEDULE_PAUSED", "SCHEDULE_RESUMED",
  "SCHEDULE_ADDED", "SCHEDULE_UPDATED", "SCHEDULE_SKIPPED", "SCHEDULE_REMOVED",
  "JOB_SERVICE_WORKERS_PAUSED", "JOB_SERVICE_WORKERS_RESUMED", "CONNECTION_LOST", "CONNECTION_RESTORED",
];
const MAX_QUEUED = 5000; // past this a batch is "overflowed": refetch rather than replay

export function normalizeEvent(raw, sseType, sseId) {
  const type = raw.type || raw.t || (sseType !== "message" ? sseType : "") || "UNKNOWN";
  return {
    type,
    id: raw.id || sseId || "",
    jobId: raw.job_id ?? null,
    name: raw.name ?? null,
    status: raw.status ?? null,
    timestamp: Number(raw.timestamp) || Date.now() / 1000,
    data: raw.data && typeof raw.data === "object" ? raw.data : {},
  };
}

export class LiveFeed {
  /**
   * onBatch(events, overflowed) is called at most every `interval` ms;
   * onState(state) with "connecting" | "live" | "reconnecting" | "offline".
   */
  constructor({ url, onBatch, onState, onGone, interval = 250 }) {
    this.url = url;
    this.onBatch = onBatch;
    this.onState = onState;
    this.onGone = onGone;
    this.interval = interval;
    this.queue = [];
    this.overflowed = false;
    this.lastId = "";
    this.lastFlush = 0;
    this.timer = 0;
    this.source = null;
    this.retry = 0;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    if (this.source) this.source.close();
    this.source = null;
    clearTimeout(this.timer);
    this.timer = 0;
    clearTimeout(this.retry);
  }

  open() {
    if (this.stopped) return;
    const url = new URL(this.url, document.baseURI);
    if (this.lastId) url.searchParams.set("after", this.lastId);
    this.onState(this.lastId ? "reconnecting" : "connecting");
    const source = new EventSource(url, { withCredentials: true });
    this.source = source;
    const receive = (message) => {
      let raw;
      try {
        raw = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!raw || typeof raw !== "object") return;
      const event = normalizeEvent(raw, message.type, message.lastEventId);
      if (event.id) this.lastId = event.id;
      this.push(event);
    };
    source.onmessage = receive;
    for (const type of TYPES) source.addEventListener(type, receive);
    // The log was trimmed past where we resumed: what is shown may be stale, refetch it.
    source.addEventListener("reset", () => {
      this.overflowed = true;
      this.schedule();
    });
    source.onopen = () => this.onState("live");
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an error status, e.g. the session expired): ask the owner
        // whether we are still signed in, then try again from the last id.
        this.onState("offline");
        this.source = null;
        Promise.resolve(this.onGone()).then((again) => {
          if (again !== false && !this.stopped) this.retry = setTimeout(() => this.open(), 2000);
        });
      } else {
        this.onState("reconnecting");
      }
    };
  }

  push(event) {
    if (this.queue.length >= MAX_QUEUED) {
      this.overflowed = true;
      this.queue.length = 0;
    }
    this.queue.push(event);
    this.schedule();
  }

  schedule() {
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.interval - performance.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = 0;
    this.lastFlush = performance.now();
    const events = this.queue;
    const overflowed = this.overflowed;
    this.queue = [];
    this.overflowed = false;
    if (events.length || overflowed) this.onBatch(events, overflowed);
  }
}
