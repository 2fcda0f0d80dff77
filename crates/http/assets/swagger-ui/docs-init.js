// Starts Swagger UI on the server's own OpenAPI document. A separate file (not an inline
// script) so that /docs runs under a Content-Security-Policy without 'unsafe-inline' scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Tokens stay in the page's memory only: nothing is written to localStorage.
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
