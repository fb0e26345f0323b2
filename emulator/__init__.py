"""A local emulator of the Xendit and Google APIs the order engine uses, for dev and tests.

One FastAPI app (`emulator.app.create_app(EmulatorConfig(...))`, or
`uvicorn --factory emulator.app:create_app_from_env`) on its own port; the real client
libraries talk to it over HTTP, offline. How production code points them at it, checked by
`tests/emulator` (`<emulator>` is e.g. `http://127.0.0.1:8081`, without a trailing slash):

xendit-python 7.0.0 (any non-empty secret key is accepted)::

    configuration = xendit.Configuration(host="<emulator>", api_key="<secret key>")
    client = xendit.ApiClient(configuration)
    invoices, refunds = InvoiceApi(client), RefundApi(client)

    # `xendit.set_api_key(key)` alone would keep host https://api.xendit.co.

Google (service account with domain-wide delegation, token from the emulator)::

    key_file = write_service_account_file(path, token_uri="<emulator>/oauth2/token")
    credentials = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=[...calendar.events, ...gmail.send, ...gmail.readonly],
        subject="<organizer email>",
    )
    calendar = build("calendar", "v3", credentials=credentials,  # or http=AuthorizedHttp(...)
                     static_discovery=True, cache_discovery=False,
                     client_options={"api_endpoint": "<emulator>/calendar/v3/"})
    gmail = build("gmail", "v1", credentials=credentials,
                  static_discovery=True, cache_discovery=False,
                  client_options={"api_endpoint": "<emulator>/"})

`api_endpoint` replaces the discovery document's rootUrl + servicePath: Calendar's servicePath
is `calendar/v3/`, Gmail's is empty (its method paths begin with `gmail/v1/`). The token URI
comes from the key file, so real keys keep talking to Google. Gmail must be called with
`body={"raw": ...}`: googleapiclient sends `media_body` uploads to an https URL.

Gmail's `users.messages.list` finds sent messages by `q="rfc822msgid:<Message-ID>"` (the only
search operator emulated; it needs a read scope). Calendar events get a new `etag` on every
change, and patch, update and delete honour `If-Match` (412 otherwise).

Programs drive the rest through `/sandbox/...` (pay or expire invoices, which sends Xendit's
callback to `callback_url`; inject faults, including `after_effect` ones where the operation
happens but its answer is lost or late; read invoices, refunds, events and mail); people
use the checkout page at each invoice's `invoice_url`.
"""
