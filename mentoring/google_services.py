"""Google API clients (Calendar v3, Gmail v1) from google-api-python-client.

`GOOGLE_API_URL` points them at the emulator in dev and tests; unset, they talk to Google.
httplib2 is not thread-safe, so each worker thread builds its own clients. Taking a client
drops the thread's kept-alive connections: one left idle since an earlier activity may have been
closed by the server, and httplib2 does not retry a request it could not write (BrokenPipeError).

Scopes: Calendar events, and the free/busy of the mentors' calendars (the API reads it to offer
only free slots); Gmail send, and Gmail read to look a message up by its Message-ID
(`messages.list` with `q`, which the narrower gmail.metadata scope may not use). In production
the domain-wide delegation of the service account must grant all four.
"""

import threading
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build

from mentoring.settings import Settings
from mentoring.tracing import TracedHttp

SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.readonly",
]
HTTP_TIMEOUT_S = 30.0


class GoogleServices:
    def __init__(self, settings: Settings, http_timeout_s: float = HTTP_TIMEOUT_S) -> None:
        if settings.google_credentials_file is None:
            raise RuntimeError("GOOGLE_CREDENTIALS_FILE must name a service-account key file")
        self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(settings.google_credentials_file),
            scopes=SCOPES,
            subject=settings.google_organizer_email,
        )
        self._api_url = settings.google_api_url.rstrip("/")
        self._local = threading.local()
        self._http_timeout_s = http_timeout_s

    def _http(self) -> httplib2.Http:
        if not hasattr(self._local, "http"):
            self._local.http = TracedHttp(timeout=self._http_timeout_s)
        http: httplib2.Http = self._local.http
        return http

    def _build(self, name: str, version: str, service_path: str) -> Any:
        http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=self._http())
        options = {"api_endpoint": f"{self._api_url}/{service_path}"} if self._api_url else None
        return build(
            name,
            version,
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options=options,
        )

    def calendar(self) -> Any:
        self._http().close()
        if not hasattr(self._local, "calendar"):
            self._local.calendar = self._build("calendar", "v3", "calendar/v3/")
        return self._local.calendar

    def gmail_messages(self) -> Any:
        """`users().messages()`, kept per thread: the client builds each nested resource and its
        methods anew on every call otherwise."""
        self._http().close()
        if not hasattr(self._local, "gmail_messages"):
            self._local.gmail_messages = self._build("gmail", "v1", "").users().messages()
        return self._local.gmail_messages
