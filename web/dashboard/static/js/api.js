// The dashboard's only way to the server, and the only file that names an API path: one
// method per endpoint. URLs are relative (the page works under any mount prefix); the
// session cookie goes along, and the CSRF token with every request that changes something.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

const enc = encodeURIComponent;

export class Api {
  /** `onUnauthorized` runs when the server says the session is gone (401). */
  constructor(onUnauthorized) {
    this.csrf = "";
    this.onUnauthorized = onUnauthorized;
    this.q = "api/v1/"; // where the queue on screen answers (see `showQueue`)
  }

  /** The queue's endpoints from now on: the served queue's under api/v1/, another queue's
   * under api/v1/queues/<name>/. */
  showQueue(queue, served) {
    this.q = queue === served ? "api/v1/" : `api/v1/queues/${enc(queue)}/`;
  }

  // -- sign-in and the server's words ---------------------------------------------------
  session() { return this.#request("GET", "api/v1/session", { quiet401: true }); }
  signIn(key) { return this.#request("POST", "api/v1/session", { body: { key }, quiet401: true }); }
  signOut() { return this.#request("DELETE", "api/v1/session"); }
  vocabulary() { return this.#request("GET", "api/v1/vocabulary"); }
  queues() { return this.#request("GET", "api/v1/queues"); }
  queuesOverview() { return this.#request("GET", "api/v1/queues/overview"); }

  // -- the queue --------------------------------------------------------------------------
  /** Counts per minute (the last day) or per hour (the last 30 days). */
  history(step, count) { return this.#request("GET", `${this.q}history`, { params: { step, count } }); }
  metrics(window = 60) { return this.#request("GET", `${this.q}jobs/metrics`, { params: { window } }); }
  pauseQueue() { return this.#request("POST", `${this.q}queue/pause`, { body: {} }); }
  resumeQueue() { return this.#request("POST", `${this.q}queue/resume`, { body: {} }); }
  /** The URL of the live event stream (for an EventSource), resuming after `after`, with
   * the server's summaries of the workers and of every queue (pushed when they change). */
  eventsUrl(after) { return this.#url(`${this.q}events`, { after, summaries: "workers,queues" }); }

  // -- jobs -----------------------------------------------------------------------------
  jobs({ status, name, limit, offset }) {
    return this.#request("GET", `${this.q}jobs`, { params: { status, name, limit, offset } });
  }
  /** One bounded step of the server's search; `statuses` empty or absent: every status. */
  search({ text, statuses, cursor, limit, budget }) {
    const params = new URLSearchParams({ text });
    for (const status of statuses || []) params.append("status", status);
    for (const [name, value] of Object.entries({ cursor, limit, budget })) if (value !== undefined && value !== null) params.set(name, value);
    return this.#request("GET", `${this.q}search`, { params });
  }
  job(id) { return this.#request("GET", `${this.q}jobs/${enc(id)}`); }
  /** One bounded step of a job's events from the log, resuming after the event id `after`. */
  jobEvents(id, after) { return this.#request("GET", `${this.q}jobs/${enc(id)}/events`, { params: { after } }); }
  /** One action (cancel, retry, delete, run_now) on jobs by id: what it was applied to. */
  bulk(action, ids) { return this.#request("POST", `${this.q}jobs/bulk`, { body: { action, ids } }); }
  retryAllDeadLetters() { return this.#request("POST", `${this.q}jobs/dead-letters/retry-all`, { body: {} }); }

  // -- workers --------------------------------------------------------------------------
  workers() { return this.#request("GET", `${this.q}jobs/workers`); }
  /** `change` is `{delta: n}` or `{concurrency: n}`. */
  scaleWorker(workerId, change) {
    return this.#request("POST", `${this.q}jobs/workers/scale`, { body: { worker_id: workerId, ...change } });
  }

  // -- limits ---------------------------------------------------------------------------
  limits() { return this.#request("GET", `${this.q}limits`); }
  /** `body`: {concurrency, rate, per}, one or both of the first two. */
  setLimit(key, body) { return this.#request("PUT", `${this.q}limits/${enc(key)}`, { body }); }
  removeLimit(key) { return this.#request("DELETE", `${this.q}limits/${enc(key)}`); }

  // -- schedules ------------------------------------------------------------------------
  schedules() { return this.#request("GET", `${this.q}schedules`); }
  triggerSchedule(name) { return this.#request("POST", `${this.q}schedules/${enc(name)}/trigger`, { body: {} }); }
  pauseSchedule(name) { return this.#request("POST", `${this.q}schedules/${enc(name)}/pause`, { body: {} }); }
  resumeSchedule(name) { return this.#request("POST", `${this.q}schedules/${enc(name)}/resume`, { body: {} }); }

  // -- the one place a request is made --------------------------------------------------
  #url(path, params) {
    const url = new URL(path, document.baseURI);
    if (params instanceof URLSearchParams) {
      url.search = params.toString();
      return url;
    }
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    return url;
  }

  async #request(method, path, { params, body, quiet401 = false } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.#url(path, params), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, { title: "The server cannot be reached", detail: String(error.message || error) });
    }
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      if (response.status === 401 && !quiet401) this.onUnauthorized();
      throw new ApiError(response.status, data);
    }
    return data;
  }
}
