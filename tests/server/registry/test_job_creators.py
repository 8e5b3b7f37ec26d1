"""Creators from the credential (REG-045): on a server with tokens, an attestation, an import
job, a conversion job and the versions the jobs register record the caller's principal."""

from __future__ import annotations

import grpc
import numpy as np
import skops.io
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from registry_calls import create_model, watched_to_end
from sklearn.linear_model import LogisticRegression

from lepton.registry.v1 import conversion_job_pb2 as cj
from lepton.registry.v1 import model_import_job_pb2 as ij
from lepton.registry.v1 import model_registry_service_pb2 as pb
from lepton.registry.v1 import model_registry_service_pb2_grpc as pb_grpc
from lepton.type.v1 import job_pb2, model_format_pb2
from lepton_ai.client import BearerTokenInterceptor
from lepton_ai.registry import dsse_envelopes

TOKEN = "registry-job-token"
ROWS = np.random.default_rng(3).standard_normal((40, 2)).astype(np.float32)


def test_jobs_versions_and_attestations_record_the_callers_principal(server_factory, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text(f"{TOKEN} alice@example.com\n")
    root = tmp_path / "root"
    root.mkdir()
    estimator = LogisticRegression().fit(ROWS, (ROWS[:, 0] > 0).astype(int))
    source = root / "model.skops"
    source.write_bytes(skops.io.dumps(estimator))
    server = server_factory(
        "--services", "registry", "--auth-tokens", str(tokens), "--file-root", str(root)
    )
    with grpc.insecure_channel(server.address) as plain:
        channel = grpc.intercept_channel(plain, BearerTokenInterceptor(TOKEN))
        stub = pb_grpc.ModelRegistryServiceStub(channel)
        model = create_model(stub)
        created = stub.CreateModelImportJob(
            pb.CreateModelImportJobRequest(
                parent=model, model_import_job=ij.ModelImportJob(source_uri=source.as_uri())
            ),
            timeout=10,
        ).model_import_job
        assert created.creator == "alice@example.com"
        imported = watched_to_end(
            stub.WatchModelImportJob(pb.WatchModelImportJobRequest(name=created.name), timeout=60),
            "model_import_job",
        )
        assert imported.status.state == job_pb2.JOB_STATE_SUCCEEDED, imported.status.error
        version = stub.GetModelVersion(
            pb.GetModelVersionRequest(name=imported.output_model_version), timeout=10
        ).model_version
        assert version.creator == "alice@example.com"
        # An imported skops file has no signature (the conversion will fail), but the job
        # records its creator at creation.
        job = stub.CreateConversionJob(
            pb.CreateConversionJobRequest(
                parent=model,
                conversion_job=cj.ConversionJob(
                    source_model_version=version.name,
                    target_format=model_format_pb2.MODEL_FORMAT_ONNX,
                ),
            ),
            timeout=10,
        ).conversion_job
        assert job.creator == "alice@example.com"
        attestation = dsse_envelopes.sign_release(
            Ed25519PrivateKey.generate(),
            "k",
            version.artifact.descriptor.digest.hex,
            version.name,
            model_format_pb2.MODEL_FORMAT_SKOPS,
        )
        attested = stub.AttestModelVersion(
            pb.AttestModelVersionRequest(name=version.name, attestation=attestation), timeout=10
        ).model_version
        assert attested.attestations[0].creator == "alice@example.com"
