// The API reference at /docs: Swagger UI (swagger-ui-dist, from npm, bundled here; no CDN)
// rendering the document the API serves at /openapi.json, on the same origin, so that "Try it
// out" calls this API with the page's own cookies.
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-bundle.js";

SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  displayOperationId: true,
  withCredentials: true,
});
