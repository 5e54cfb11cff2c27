"""Helpers for calling the Aarthik gRPC gateway: channels, the default deadline and call metadata.

Example::

    import grpc
    from aarthik import client
    from aarthik.headless.v1 import offers_pb2, offers_pb2_grpc

    channel = client.create_channel("localhost:50051")
    stub = offers_pb2_grpc.OffersServiceStub(channel)
    key = client.new_idempotency_key()  # reuse it when you retry this write
    response = stub.ProceedOffer(
        offers_pb2.ProceedOfferRequest(borrower_external_id="9876543210", journey_id=..., offer_id=...),
        timeout=client.DEFAULT_TIMEOUT_SECONDS,
        metadata=client.call_metadata(idempotency_key=key))

Thread-safety: every function is thread-safe; a grpc.Channel is meant to be shared.
"""

import uuid
from typing import List, Optional, Tuple

import grpc

#: Metadata key the gateway forwards to the platform as ``X-Correlation-ID``.
CORRELATION_ID_KEY = "x-correlation-id"
#: Metadata key the gateway forwards to the platform as ``Idempotency-Key``.
IDEMPOTENCY_KEY_KEY = "idempotency-key"
#: The deadline the C++ helper uses by default, in seconds (pass it as ``timeout=``).
DEFAULT_TIMEOUT_SECONDS = 10.0


def new_correlation_id() -> str:
    """Returns a fresh correlation ID (a random version-4 UUID)."""
    return str(uuid.uuid4())


def new_idempotency_key() -> str:
    """Returns a fresh idempotency key (a random version-4 UUID)."""
    return str(uuid.uuid4())


def call_metadata(correlation_id: Optional[str] = None,
                  idempotency_key: Optional[str] = None) -> List[Tuple[str, str]]:
    """Returns call metadata: always a correlation ID (fresh unless given), and the idempotency key if given."""
    metadata = [(CORRELATION_ID_KEY, correlation_id or new_correlation_id())]
    if idempotency_key:
        metadata.append((IDEMPOTENCY_KEY_KEY, idempotency_key))
    return metadata


def create_channel(target: str,
                   *,
                   tls: bool = False,
                   root_certificates: Optional[bytes] = None,
                   certificate_chain: Optional[bytes] = None,
                   private_key: Optional[bytes] = None) -> grpc.Channel:
    """Creates a channel: plaintext, or TLS (optional private root CA; client cert and key for mutual TLS)."""
    if not tls:
        return grpc.insecure_channel(target)
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("mutual TLS needs both certificate_chain and private_key")
    credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates,
                                               private_key=private_key,
                                               certificate_chain=certificate_chain)
    return grpc.secure_channel(target, credentials)
