// node-oidc-provider configured like the CIAM scenarios it is compared with: one confidential
// client_credentials client (client_secret_basic), opaque access tokens, introspection on.
// In-memory adapter (its default): no database, so its figures are an upper bound.
import Provider from "oidc-provider";

const port = Number(process.env.PORT || 3000);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: "bench", client_secret: "bench-secret", grant_types: ["client_credentials"],
    redirect_uris: [], response_types: [], token_endpoint_auth_method: "client_secret_basic",
  }],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:bench:api",
      getResourceServerInfo: () => ({ scope: "api:read", accessTokenFormat: "opaque", accessTokenTTL: 3600 }),
      useGrantedResource: () => true,
    },
  },
  scopes: ["api:read"],
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => console.log(`peer listening on ${port}`));
