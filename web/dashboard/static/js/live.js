// One EventSource on the API's event stream, listening to every event type the server
// names (its vocabulary). Events, as the server sends them (id, type, timestamp, job_id,
// name, status, data), are queued and handed over in batches at most a few times a second
// (the first at once after a quiet spell), so a flood of events costs a few redraws, not
// one per event. The browser reconnects by itself and sends the last event id
// (Last-Event-ID); when it gives up (the stream answered with an error status), we open a
// new one that resumes from the last id we saw. The server's summaries (`workers`,
// `queues`: no id, sent when they change) go to onSummary as they come.

const MAX_QUEUED = 5000; // past this a batch is "overflowed": refetch rather than replay

export class LiveFeed {
  /**
   * `url(after)` is the stream's URL resuming after an event id; `types` the event types to
   * listen to. onBatch(events, overflowed) is called at most every `interval` ms;
   * onState(state) with "connecting" | "live" | "reconnecting" | "offline";
   * onSummary(kind, data) with each summary.
   */
  constructor({ url, types, onBatch, onSummary, onState, onGone, interval = 250 }) {
    this.url = url;
    this.types = types;
    this.onBatch = onBatch;
    this.onSummary = onSummary;
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
    const url = this.url(this.lastId);
    this.onState(this.lastId ? "reconnecting" : "connecting");
    const source = new EventSource(url, { withCredentials: true });
    this.source = source;
    const receive = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!event || typeof event !== "object") return;
      if (message.lastEventId) this.lastId = message.lastEventId;
      this.push(event);
    };
    for (const type of this.types) source.addEventListener(type, receive);
    for (const kind of ["workers", "queues"]) {
      source.addEventListener(kind, (message) => {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        if (data && typeof data === "object") this.onSummary(kind, data);
      });
    }
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
