// Swagger UI over this server's OpenAPI document. Relative URLs, so the page works under
// any mount prefix; writes made with the dashboard's sign-in cookie carry its CSRF token
// (requests with an API key from "Authorize" need none).
"use strict";

const root = new URL(".", location.href);
let csrf = null;

async function csrfToken() {
  if (csrf === null) {
    const reply = await fetch(new URL("api/v1/session", root), { credentials: "same-origin" });
    csrf = reply.ok ? (await reply.json()).csrf || "" : "";
  }
  return csrf;
}

window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", root).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,
  requestInterceptor: async (request) => {
    if (request.method && request.method.toUpperCase() !== "GET") {
      request.headers["X-CSRF-Token"] = await csrfToken();
    }
    return request;
  },
});
