// The dashboard's only way to the server: relative URLs (so it works under any mount
// prefix), the session cookie, and the CSRF token on every state-changing request.

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export class Api {
  /** `onUnauthorized` runs when the server says the session is gone (401). */
  constructor(onUnauthorized) {
    this.csrf = "";
    this.onUnauthorized = onUnauthorized;
  }

  url(path, params) {
    const url = new URL(path, document.baseURI);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    return url;
  }

  async request(method, path, { params, body, quiet401 = false } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.url(path, params), {
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

  get(path, params, options) { return this.request("GET", path, { params, ...options }); }
  post(path, body) { return this.request("POST", path, { body: body ?? {} }); }
  del(path, params) { return this.request("DELETE", path, { params }); }
}
