"""The receiver's verification in docs/webhooks.md, written without the library, agrees with
the library that signs our webhooks: it takes what we sign and refuses what we did not."""

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks.webhooks import Webhook

DOC = Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _documented_verify() -> Callable[[str, dict[str, str], bytes], bool]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    sample = next(block for block in blocks if "def verify(" in block)
    namespace: dict[str, object] = {}
    exec(compile(sample, str(DOC), "exec"), namespace)
    verify = namespace["verify"]
    assert callable(verify)
    return verify


def test_the_documented_verification_agrees_with_the_signer() -> None:
    verify = _documented_verify()
    body = b'{"type":"order.paid","data":{"order_id":"o-1"}}'
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_1", now, body.decode()),
    }
    assert verify(SECRET, headers, body)
    assert not verify(SECRET, headers, body.replace(b"paid", b"refunded"))
    assert not verify("whsec_" + "QUJD" * 8, headers, body)
    stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert not verify(SECRET, stale, body)
