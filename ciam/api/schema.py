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


ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    "required": ["error"],
}
ERROR_STATUSES = {
    "400": "The request is malformed or breaks a rule; error_description names the field.",
    "401": "No valid admin token (WWW-Authenticate says how to authenticate).",
    "404": "Unknown resource.",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "The resource changed meanwhile.",
    "413": "The body is too large.",
    "415": "Unsupported media type.",
    "503": "The database is unreachable.",
}


def add_error_responses(result, generator, request, public):
    """Post-processing hook: every operation may answer Hydra's error object on these statuses."""
    result.setdefault("components", {}).setdefault("schemas", {})["GenericError"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/GenericError"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_STATUSES.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
