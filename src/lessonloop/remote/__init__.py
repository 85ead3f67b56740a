"""The CLI against a lessonloop server: an API token, a stored sign-in and a small HTTP client."""
