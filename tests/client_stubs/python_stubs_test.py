"""Tests of the generated Python stubs with Debian's python3-grpcio / python3-protobuf.

Run with /usr/bin/python3 and PYTHONPATH=<build>/python (ctest sets both): every generated module imports,
messages round-trip through the binary and JSON formats with the platform's field spellings, and a real
gRPC call reaches an in-process server built from the generated servicer.
"""

import importlib
import os
import pkgutil
import unittest
from concurrent import futures

import grpc
from google.protobuf import json_format

import aarthik
from aarthik import client
from aarthik.headless.v1 import journeys_pb2, offers_pb2, offers_pb2_grpc, types_pb2
from aarthik.gateway.v1 import options_pb2
from google.api import annotations_pb2
from google.rpc import error_details_pb2, status_pb2


class ImportTest(unittest.TestCase):

    def test_every_generated_module_imports(self):
        names = [m.name for m in pkgutil.walk_packages(aarthik.__path__, "aarthik.")]
        for name in names:
            importlib.import_module(name)
        self.assertIn("aarthik.headless.v1.journeys_pb2_grpc", names)
        self.assertIn("aarthik.webhooks.v1.snapshot_pb2", names)
        self.assertGreaterEqual(len([n for n in names if n.endswith("_pb2")]), 14)

    def test_google_namespace_is_shared_with_debian_protobuf(self):
        import google.protobuf
        self.assertTrue(google.protobuf.__file__.startswith("/usr/lib/python3/dist-packages/"))
        self.assertTrue(os.path.exists(annotations_pb2.__file__))
        self.assertEqual(status_pb2.Status.DESCRIPTOR.full_name, "google.rpc.Status")

    def test_custom_options_are_readable(self):
        method = offers_pb2.DESCRIPTOR.services_by_name["OffersService"].methods_by_name["ProceedOffer"]
        route = method.GetOptions().Extensions[options_pb2.route]
        self.assertEqual(route.mutation, options_pb2.MUTATION_IDEMPOTENT_WRITE)
        http = method.GetOptions().Extensions[annotations_pb2.http]
        self.assertEqual(http.post, "/api/v1/headless/journeys/{journey_id}/offers/{offer_id}/proceed")


class RoundTripTest(unittest.TestCase):

    def make_journey(self):
        journey = types_pb2.Journey(journey_id="5b0b5b7e-8f0e-4c1f-9a51-0d3c2b7f6a11",
                                    status=types_pb2.JOURNEY_LIFECYCLE_STATUS_OFFERS_AVAILABLE,
                                    updated_at="2026-03-05T16:40:10.000Z")
        journey.metadata.update({"source": "android_app", "campaign": "summer26"})
        return journeys_pb2.GetJourneyResponse(journey=journey)

    def test_binary(self):
        message = self.make_journey()
        parsed = journeys_pb2.GetJourneyResponse.FromString(message.SerializeToString())
        self.assertEqual(parsed, message)
        self.assertEqual(parsed.journey.metadata["campaign"], "summer26")

    def test_json_uses_platform_spellings(self):
        message = self.make_journey()
        text = json_format.MessageToJson(message)
        self.assertIn('"journeyID"', text)
        self.assertIn('"updatedAt"', text)
        self.assertNotIn("journey_id", text)
        self.assertEqual(json_format.Parse(text, journeys_pb2.GetJourneyResponse()), message)

    def test_json_from_platform_payload(self):
        payload = ('{"journeyID": "j-1", "offerID": "o-1", "proceeded": true, '
                   '"status": "OFFER_STATUS_UNSPECIFIED"}')
        parsed = json_format.Parse(payload, offers_pb2.ProceedOfferResponse())
        self.assertEqual(parsed.journey_id, "j-1")
        self.assertEqual(parsed.offer_id, "o-1")
        self.assertTrue(parsed.proceeded)

    def test_rich_error_details(self):
        info = error_details_pb2.ErrorInfo(reason="OFFER_LOCK_CONFLICT", domain="aarthiklabs.com")
        status = status_pb2.Status(code=9, message="offer locked")
        status.details.add().Pack(info)
        parsed = status_pb2.Status.FromString(status.SerializeToString())
        unpacked = error_details_pb2.ErrorInfo()
        self.assertTrue(parsed.details[0].Unpack(unpacked))
        self.assertEqual(unpacked.reason, "OFFER_LOCK_CONFLICT")


class Offers(offers_pb2_grpc.OffersServiceServicer):
    """Proceeds any offer; requires an idempotency key, as the gateway's writes do."""

    def ProceedOffer(self, request, context):
        metadata = dict(context.invocation_metadata())
        if not metadata.get(client.IDEMPOTENCY_KEY_KEY):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "missing idempotency-key")
        context.set_trailing_metadata(
            ((client.CORRELATION_ID_KEY, metadata.get(client.CORRELATION_ID_KEY, "")),
             (client.IDEMPOTENCY_KEY_KEY, metadata[client.IDEMPOTENCY_KEY_KEY])))
        return offers_pb2.ProceedOfferResponse(journey_id=request.journey_id,
                                               offer_id=request.offer_id,
                                               proceeded=True)


class GrpcCallTest(unittest.TestCase):

    def setUp(self):
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        offers_pb2_grpc.add_OffersServiceServicer_to_server(Offers(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.assertGreater(self.port, 0)
        self.server.start()
        self.channel = client.create_channel(f"127.0.0.1:{self.port}")
        self.stub = offers_pb2_grpc.OffersServiceStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.server.stop(grace=None)

    def test_write_with_helper_metadata(self):
        key = client.new_idempotency_key()
        request = offers_pb2.ProceedOfferRequest(borrower_external_id="9876543210",
                                                 journey_id="j-1", offer_id="o-1")
        response, call = self.stub.ProceedOffer.with_call(
            request, timeout=client.DEFAULT_TIMEOUT_SECONDS,
            metadata=client.call_metadata(correlation_id="corr-py-1", idempotency_key=key))
        self.assertTrue(response.proceeded)
        self.assertEqual((response.journey_id, response.offer_id), ("j-1", "o-1"))
        trailers = dict(call.trailing_metadata())
        self.assertEqual(trailers[client.CORRELATION_ID_KEY], "corr-py-1")
        self.assertEqual(trailers[client.IDEMPOTENCY_KEY_KEY], key)

    def test_error_status_reaches_the_caller(self):
        with self.assertRaises(grpc.RpcError) as raised:
            self.stub.ProceedOffer(offers_pb2.ProceedOfferRequest(), timeout=5,
                                   metadata=client.call_metadata())
        self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_helpers(self):
        metadata = dict(client.call_metadata())
        self.assertRegex(metadata[client.CORRELATION_ID_KEY],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertNotIn(client.IDEMPOTENCY_KEY_KEY, metadata)
        with self.assertRaises(ValueError):
            client.create_channel("localhost:1", tls=True, certificate_chain=b"x")


if __name__ == "__main__":
    unittest.main()
