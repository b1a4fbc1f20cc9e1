"""OpenAPI details drf-spectacular cannot infer: the bearer scheme of the admin API."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AdminBearerScheme(OpenApiAuthenticationExtension):
    target_class = "ciam.api.authentication.AdminBearerAuthentication"
    name = "adminBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An admin API token (ciam_pat_...), or a client-credentials access token with the "
                           "ciam:admin scope.",
        }
