"""Error messages as users really see them, with what must never leave the machine.

Written before the scrubber, from the tools' real output shapes (kubectl, git,
docker, helm, cloud CLIs, HTTP clients, parsers), with realistic private values
planted where those tools put them.  `secrets` are exact substrings that must
not survive scrubbing; `keeps` is the phrase that says what went wrong, which a
useful scrubbed message still contains (compared lowercased).
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    message: str
    secrets: tuple[str, ...]
    keeps: str


CORPUS: list[Case] = [
    # --- kubectl / Kubernetes API -------------------------------------------------
    Case(
        "The connection to the server prod-eu1.internal.acme.io:6443 was refused - "
        "did you specify the right host or port?",
        ("prod-eu1", "acme"),
        "was refused",
    ),
    Case(
        'Error from server (NotFound): deployments.apps "acme-payments-checkout" not found',
        ("acme-payments-checkout", "acme"),
        "not found",
    ),
    Case(
        'Error from server (Forbidden): pods is forbidden: User "jdoe@acme.com" cannot list resource "pods" '
        'in API group "" in the namespace "payments-prod"',
        ("jdoe", "acme.com", "payments-prod"),
        "is forbidden",
    ),
    Case(
        "Unable to connect to the server: dial tcp 10.0.12.7:6443: i/o timeout",
        ("10.0.12.7",),
        "i/o timeout",
    ),
    Case(
        "Unable to connect to the server: x509: certificate is valid for kubernetes, kubernetes.default, "
        "ingress.acme.local, not api.staging.acme.local",
        ("ingress.acme.local", "api.staging.acme.local", "acme"),
        "certificate is valid for",
    ),
    Case(
        'error: context "gke_acme-prod_europe-west1_main" does not exist',
        ("gke_acme-prod_europe-west1_main", "acme-prod", "europe-west1"),
        "does not exist",
    ),
    Case(
        'error: error loading config file "C:\\Users\\Jane Doe\\.kube\\config": open '
        "C:\\Users\\Jane Doe\\.kube\\config: The system cannot find the file specified.",
        ("Jane", "Doe", "C:\\Users"),
        "cannot find the file specified",
    ),
    Case(
        'Error from server (NotFound): secrets "acme-db-credentials" not found',
        ("acme-db-credentials", "acme"),
        "not found",
    ),
    Case(
        'pod "acme-worker-5d8f7b9c4-xk2lp" failed to schedule: 0/3 nodes are available: 3 Insufficient memory.',
        ("acme-worker-5d8f7b9c4-xk2lp", "5d8f7b9c4", "xk2lp"),
        "insufficient memory",
    ),
    Case(
        'Error from server (Forbidden): pods "k6-load-acme-7f9c2" is forbidden: exceeded quota: '
        "team-payments-quota, requested: limits.memory=4Gi, used: limits.memory=14Gi, limited: limits.memory=16Gi",
        ("k6-load-acme-7f9c2", "team-payments-quota", "payments"),
        "exceeded quota",
    ),
    Case(
        'error: unable to upgrade connection: container not found ("acme-sidecar")',
        ("acme-sidecar",),
        "unable to upgrade connection",
    ),
    Case(
        'configmap "acme-k6-scripts" is invalid: data[load test.js]: Invalid value: "load test.js": '
        "a valid config key must consist of alphanumeric characters",
        ("acme-k6-scripts", "load test.js", "test.js"),
        "is invalid",
    ),
    Case(
        "cluster prod-eu1.internal.acme.io is not reachable: context deadline exceeded",
        ("prod-eu1", "internal.acme.io"),
        "context deadline exceeded",
    ),
    Case(
        "error: You must be logged in to the server (the server has asked for the client to provide "
        "credentials) for user jdoe on host build-agent-07",
        ("jdoe", "build-agent-07"),
        "must be logged in",
    ),
    # --- Testkube -------------------------------------------------------------------
    Case(
        'Error: test "acme-login-smoke" not found',
        ("acme-login-smoke", "acme"),
        "not found",
    ),
    Case(
        'getting test suite "checkout-e2e-nightly" failed: api/GET-testkube.TestSuite returned error: 404 Not Found',
        ("checkout-e2e-nightly", "nightly"),
        "404 not found",
    ),
    Case(
        'Error: failed to get executor: Get "http://testkube-api-server.testkube.svc.cluster.local:8088/v1/executors": '
        "dial tcp: lookup testkube-api-server.testkube.svc.cluster.local on 10.96.0.10:53: no such host",
        ("testkube-api-server.testkube.svc.cluster.local", "10.96.0.10"),
        "no such host",
    ),
    Case(
        'execution "acme-k6-load-7f9c2" failed: exit code 137: OOMKilled',
        ("acme-k6-load-7f9c2", "7f9c2"),
        "exit code 137",
    ),
    Case(
        'Error: validating test: test name "Acme Checkout E2E" must be a valid DNS subdomain',
        ("Acme Checkout E2E", "Acme"),
        "must be a valid dns subdomain",
    ),
    Case(
        'json: cannot unmarshal string into Go struct field TestSpec.spec.executionRequest.args of type []string '
        'in test "acme-login-smoke"',
        ("acme-login-smoke",),
        "cannot unmarshal string",
    ),
    # --- git -------------------------------------------------------------------------
    Case(
        "fatal: could not read Username for 'https://gitlab.example.com': terminal prompts disabled",
        ("gitlab.example.com",),
        "terminal prompts disabled",
    ),
    Case(
        "fatal: Authentication failed for "
        "'https://jdoe:ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8@github.com/acme/payments.git/'",
        ("jdoe", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "acme/payments"),
        "authentication failed",
    ),
    Case(
        "remote: Repository not found.\nfatal: repository 'https://github.com/acme-corp/internal-tools.git/' not found",
        ("acme-corp", "internal-tools"),
        "not found",
    ),
    Case(
        "ssh: Could not resolve hostname git.internal.acme.io: Name or service not known",
        ("git.internal.acme.io", "acme"),
        "could not resolve hostname",
    ),
    Case(
        "jdoe@build-agent-07: Permission denied (publickey).",
        ("jdoe", "build-agent-07"),
        "permission denied",
    ),
    Case(
        "error: pathspec 'feature/JIRA-4821-refund-flow' did not match any file(s) known to git",
        ("JIRA-4821", "refund-flow", "feature/JIRA"),
        "did not match any file",
    ),
    Case(
        "error: failed to push some refs to 'git@gitlab.example.com:acme/payments.git'",
        ("gitlab.example.com", "acme/payments"),
        "failed to push some refs",
    ),
    Case(
        " ! [remote rejected] feature/refund-v2 -> feature/refund-v2 (pre-receive hook declined)",
        ("feature/refund-v2", "refund"),
        "pre-receive hook declined",
    ),
    Case(
        "Warning: Permanently added '[gitlab.example.com]:2222' (ED25519) to the list of known hosts.\r\n"
        "fatal: Could not read from remote repository.",
        ("gitlab.example.com",),
        "could not read from remote repository",
    ),
    Case(
        "Host key verification failed for build-agent-07.ci.acme.io (10.0.12.7)",
        ("build-agent-07", "ci.acme.io", "10.0.12.7"),
        "host key verification failed",
    ),
    Case(
        "ssh: connect to host buildbox42 port 22: No route to host",
        ("buildbox42",),
        "no route to host",
    ),
    # --- docker / registries -----------------------------------------------------
    Case(
        "Error response from daemon: pull access denied for registry.acme.io/team/api, repository does not exist "
        "or may require 'docker login': denied: requested access to the resource is denied",
        ("registry.acme.io", "team/api"),
        "pull access denied",
    ),
    Case(
        "Error response from daemon: manifest for registry.acme.io/team/api:1.2 not found: manifest unknown: "
        "manifest unknown",
        ("registry.acme.io/team/api:1.2", "registry.acme.io", "team/api"),
        "not found",
    ),
    Case(
        'docker: Error response from daemon: Conflict. The container name "/acme-postgres-dev" is already in use '
        'by container "3f4e9a1b2c7d8e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f". You have to remove '
        "(or rename) that container to be able to reuse that name.",
        ("acme-postgres-dev", "3f4e9a1b2c7d8e6f"),
        "already in use",
    ),
    Case(
        "ERROR: failed to solve: failed to read dockerfile: open "
        "/var/lib/docker/tmp/buildkit-mount4172/Dockerfile.acme: no such file or directory",
        ("buildkit-mount4172", "Dockerfile.acme"),
        "no such file or directory",
    ),
    Case(
        'Error response from daemon: Get "https://registry.acme.io/v2/": unauthorized: incorrect username or password',
        ("registry.acme.io",),
        "incorrect username or password",
    ),
    Case(
        'failed to pull image "registry-1.docker.io/acmecorp/payments-api:2.14.0": toomanyrequests: '
        "You have reached your pull rate limit.",
        ("acmecorp", "payments-api"),
        "pull rate limit",
    ),
    Case(
        'Failed to pull image "ghcr.io/acme/checkout:sha-4f2a9c1": rpc error: code = Unknown desc = failed to pull '
        'and unpack image "ghcr.io/acme/checkout:sha-4f2a9c1": failed to resolve reference: unexpected status '
        "code 401 Unauthorized",
        ("ghcr.io/acme", "4f2a9c1"),
        "failed to pull image",
    ),
    # --- helm --------------------------------------------------------------------------
    Case(
        'Error: UPGRADE FAILED: "acme-billing" has no deployed releases',
        ("acme-billing",),
        "has no deployed releases",
    ),
    Case(
        'Error: INSTALLATION FAILED: failed to download "oci://registry.acme.io/charts/billing" at version "3.4.1"',
        ("registry.acme.io", "charts/billing"),
        "failed to download",
    ),
    Case(
        'Error: Kubernetes cluster unreachable: Get "https://prod-eu1.internal.acme.io:6443/version": '
        "dial tcp 10.0.12.7:6443: connect: connection refused",
        ("prod-eu1", "acme.io", "10.0.12.7"),
        "connection refused",
    ),
    Case(
        "Error: YAML parse error on acme-chart/templates/deployment.yaml: error converting YAML to JSON: "
        "yaml: line 42: mapping values are not allowed in this context",
        ("acme-chart",),
        "mapping values are not allowed in this context",
    ),
    Case(
        'Error: looks like "https://charts.acme.io/stable" is not a valid chart repository or cannot be reached: '
        "failed to fetch https://charts.acme.io/stable/index.yaml : 403 Forbidden",
        ("charts.acme.io", "acme"),
        "is not a valid chart repository",
    ),
    # --- AWS / GCP / Azure -------------------------------------------------------
    Case(
        "upload failed: ./dump.sql to s3://acme-backups-2024/db/dump.sql An error occurred (AccessDenied) "
        "when calling the PutObject operation: Access Denied",
        ("acme-backups-2024", "dump.sql"),
        "access denied",
    ),
    Case(
        "An error occurred (AccessDenied) when calling the AssumeRole operation: User: "
        "arn:aws:iam::123456789012:user/jdoe is not authorized to perform: sts:AssumeRole on resource: "
        "arn:aws:iam::123456789012:role/acme-deploy",
        ("123456789012", "jdoe", "acme-deploy"),
        "is not authorized to perform",
    ),
    Case(
        "denied: User: arn:aws:sts::123456789012:assumed-role/ci-deployer/i-0abc123def4567890 is not authorized "
        "to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:eu-west-1:123456789012:repository/acme/api",
        ("123456789012", "i-0abc123def4567890", "ci-deployer", "acme/api"),
        "is not authorized",
    ),
    Case(
        "error parsing ~/.aws/credentials: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY: "
        "unexpected character",
        ("wJalrXUtnFEMI", "bPxRfiCYEXAMPLEKEY"),
        "unexpected character",
    ),
    Case(
        "ERROR: (gcloud.container.clusters.get-credentials) ResponseError: code=404, message=Not found: "
        "projects/acme-prod-341208/locations/europe-west1/clusters/payments.",
        ("acme-prod-341208", "europe-west1", "payments"),
        "not found",
    ),
    Case(
        "ERROR: (gcloud.projects.describe) User [jane.doe@acme.com] does not have permission to access "
        "projects instance [acme-prod-341208] (or it may not exist): The caller does not have permission",
        ("jane.doe", "acme.com", "acme-prod-341208"),
        "does not have permission",
    ),
    Case(
        "googleapi: Error 403: Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of "
        "service 'container.googleapis.com' for consumer 'project_number:482915736201'.",
        ("482915736201",),
        "quota exceeded",
    ),
    Case(
        "ERROR: (AuthorizationFailed) The client 'jdoe@acme.onmicrosoft.com' with object id "
        "'5c1f0e2a-7b3d-4e9f-8a6b-1d2c3e4f5a6b' does not have authorization to perform action "
        "'Microsoft.ContainerService/managedClusters/read' over scope "
        "'/subscriptions/9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4/resourceGroups/acme-rg-prod'",
        ("jdoe", "acme.onmicrosoft.com", "5c1f0e2a", "9f8e7d6c", "acme-rg-prod"),
        "does not have authorization to perform action",
    ),
    Case(
        "AADSTS700016: Application with identifier 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e' was not found "
        "in the directory 'acme.onmicrosoft.com'.",
        ("b1c2d3e4", "acme.onmicrosoft.com"),
        "was not found",
    ),
    # --- curl / requests / Go net ---------------------------------------------------
    Case(
        "curl: (6) Could not resolve host: gitlab.example.com",
        ("gitlab.example.com",),
        "could not resolve host",
    ),
    Case(
        "curl: (7) Failed to connect to minio.storage.svc.cluster.local port 9000 after 3 ms: Connection refused",
        ("minio.storage.svc.cluster.local",),
        "connection refused",
    ),
    Case(
        "curl: (51) SSL: no alternative certificate subject name matches target host name 'api.payments.acme.io'",
        ("api.payments.acme.io", "acme"),
        "no alternative certificate subject name matches target host name",
    ),
    Case(
        "HTTPSConnectionPool(host='api.acme.io', port=443): Max retries exceeded with url: "
        "/v1/users/jdoe?token=abc123 (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object "
        "at 0x7f8b2c3d4e50>: Failed to establish a new connection: [Errno 111] Connection refused'))",
        ("api.acme.io", "jdoe", "abc123"),
        "max retries exceeded",
    ),
    Case(
        "requests.exceptions.ReadTimeout: HTTPConnectionPool(host='10.0.12.7', port=8088): Read timed out. "
        "(read timeout=30)",
        ("10.0.12.7",),
        "read timed out",
    ),
    Case(
        'Get "https://testkube.acme.io/results/v1/executions?pageSize=100": net/http: request canceled while '
        "waiting for connection (Client.Timeout exceeded while awaiting headers)",
        ("testkube.acme.io", "acme"),
        "request canceled while waiting for connection",
    ),
    Case(
        "dial tcp [fe80::1ff:fe23:4567:890a]:443: connect: network is unreachable",
        ("fe80::1ff:fe23:4567:890a", "fe23:4567"),
        "network is unreachable",
    ),
    Case(
        "dial tcp [2001:db8:85a3::8a2e:370:7334]:8443: connect: connection timed out",
        ("2001:db8:85a3::8a2e:370:7334", "8a2e:370"),
        "connection timed out",
    ),
    Case(
        "dial tcp: lookup minio.storage.svc.cluster.local on 127.0.0.53:53: server misbehaving",
        ("minio.storage.svc.cluster.local",),
        "server misbehaving",
    ),
    Case(
        "read tcp 192.168.1.23:50412->52.18.44.201:443: read: connection reset by peer",
        ("192.168.1.23", "52.18.44.201"),
        "connection reset by peer",
    ),
    Case(
        "lookup vault.service.consul on 10.0.0.2:53: no such host",
        ("vault.service.consul", "10.0.0.2"),
        "no such host",
    ),
    Case(
        "getaddrinfo ENOTFOUND postgres.prod-eu1.internal.acme.io",
        ("prod-eu1", "acme.io"),
        "getaddrinfo enotfound",
    ),
    Case(
        "could not resolve host gitlab.example.com",
        ("gitlab.example.com",),
        "could not resolve host",
    ),
    Case(
        "unexpected status 502 Bad Gateway from https://testkube.acme.io/api/v1/info",
        ("testkube.acme.io",),
        "502 bad gateway",
    ),
    Case(
        "address 10.244.3.17/24 overlaps with cluster CIDR",
        ("10.244.3.17",),
        "overlaps with cluster",
    ),
    # --- TLS / x509 ------------------------------------------------------------------
    Case(
        'Get "https://vault.acme.io/v1/sys/health": x509: certificate has expired or is not yet valid: '
        "current time 2024-03-01T10:22:31Z is after 2024-02-28T23:59:59Z",
        ("vault.acme.io",),
        "certificate has expired",
    ),
    Case(
        "tls: failed to verify certificate: x509: certificate is valid for *.acme-staging.net, not nexus.acme.io",
        ("acme-staging.net", "nexus.acme.io"),
        "failed to verify certificate",
    ),
    Case(
        'Post "https://api.acme.io/v1/login": x509: certificate signed by unknown authority',
        ("api.acme.io",),
        "certificate signed by unknown authority",
    ),
    # --- parse errors ------------------------------------------------------------------
    Case(
        "Invalid TOML in /home/jdoe/.testkube/config.toml: Expected '=' after a key in a key/value pair "
        "(at line 3, column 9)",
        ("jdoe", "/home/"),
        "after a key",
    ),
    Case(
        "error parsing ./deploy/acme-payments/values-prod.yaml: yaml: line 12: did not find expected key",
        ("acme-payments", "values-prod"),
        "did not find expected key",
    ),
    Case(
        "error converting YAML to JSON: yaml: line 7: could not find expected ':' in "
        "C:\\Users\\jdoe\\projects\\acme\\tests.yaml",
        ("jdoe", "acme"),
        "could not find expected",
    ),
    Case(
        'Invalid JSON body {"user": "jdoe", "password": "S3cr3t!pass"}: Expecting \',\' delimiter: '
        "line 1 column 58 (char 57)",
        ("jdoe", "S3cr3t!pass"),
        "expecting",
    ),
    Case(
        'API returned 401: {"error":"invalid_token","error_description":"The access token expired",'
        '"user":"jane.doe@acme.com","request_id":"7f3a9c2e-1b4d-4f8a-9e6c-2d5b8a1f3e7c"}',
        ("jane.doe", "acme.com", "7f3a9c2e"),
        "access token expired",
    ),
    Case(
        '  File "/home/jdoe/venvs/tk/lib/python3.11/site-packages/acme_internal/client.py", line 88, in fetch',
        ("jdoe", "acme_internal"),
        "line 88",
    ),
    # --- files and paths ------------------------------------------------------------
    Case(
        "open /Users/jane.doe/work/acme/testkube/tests/login.json: no such file or directory",
        ("jane.doe", "/Users/", "acme"),
        "no such file or directory",
    ),
    Case(
        "The system cannot find the path specified: 'D:\\ci\\acme-build-agent-07\\_work\\3\\s\\tests\\k6\\load.js'",
        ("acme-build-agent-07", "load.js"),
        "cannot find the path specified",
    ),
    Case(
        "PermissionError: [Errno 13] Permission denied: '/home/jdoe/.testkube/config.toml'",
        ("jdoe", "/home/"),
        "permission denied",
    ),
    Case(
        "ERRO[0003] GoError: open /home/runner/work/acme-perf/scenarios/checkout.js: no such file or directory",
        ("acme-perf", "scenarios/checkout.js"),
        "no such file or directory",
    ),
    Case(
        "error: ENOENT: no such file or directory, open "
        "'C:\\Users\\jdoe\\Documents\\Acme API.postman_collection.json'",
        ("jdoe", "Acme API", "Acme"),
        "no such file or directory",
    ),
    Case(
        "Error: EACCES: permission denied, mkdir '/opt/acme/reports'",
        ("/opt/acme", "acme"),
        "permission denied",
    ),
    Case(
        "Could not find file '\\\\fileserver01\\shares\\qa\\acme\\env.json'.",
        ("fileserver01", "acme", "env.json"),
        "could not find file",
    ),
    Case(
        "failed to read ~/.kube/config-acme-prod: permission denied",
        ("config-acme-prod", "acme-prod"),
        "permission denied",
    ),
    Case(
        "Error: open C:\\actions-runner\\_work\\acme-web\\acme-web\\.testkube\\config.toml: Access is denied.",
        ("acme-web",),
        "access is denied",
    ),
    Case(
        "permission denied: /home/josé.garcía/.testkube",
        ("josé", "garcía"),
        "permission denied",
    ),
    Case(
        "Cypress could not verify that this server is running: > https://staging.acme-shop.com",
        ("acme-shop.com", "staging.acme"),
        "could not verify that this server is running",
    ),
    # --- databases, queues, storage ---------------------------------------------------
    Case(
        'psql: error: connection to server at "db.acme.internal" (10.20.30.40), port 5432 failed: '
        'FATAL:  password authentication failed for user "payments_rw"',
        ("db.acme.internal", "10.20.30.40", "payments_rw"),
        "password authentication failed for user",
    ),
    Case(
        "MongoServerError: Authentication failed. connecting to "
        "mongodb://jdoe:S3cr3t!pass@mongo-0.mongo.acme.svc:27017/testkube",
        ("jdoe", "S3cr3t!pass", "mongo.acme.svc"),
        "authentication failed",
    ),
    Case(
        "nats: no servers available for connection (nats://nats.acme-messaging.svc:4222)",
        ("acme-messaging",),
        "no servers available",
    ),
    Case(
        "The Access Key Id you provided does not exist in our records. (bucket: acme-artifacts-eu, "
        "endpoint: minio.storage.svc.cluster.local:9000)",
        ("acme-artifacts-eu", "minio.storage.svc.cluster.local"),
        "does not exist in our records",
    ),
    Case(
        "account 482915736201 has no active subscription",
        ("482915736201",),
        "has no active subscription",
    ),
    Case(
        "User jane.doe@acme.com is not a member of organization acme-corp",
        ("jane.doe", "acme.com", "acme-corp"),
        "is not a member of organization",
    ),
    Case(
        "login failed for user jdoe on host build-agent-07",
        ("jdoe", "build-agent-07"),
        "login failed for user",
    ),
    # --- secrets in all shapes -------------------------------------------------------
    Case(
        "env validation failed: DB_PASSWORD=Pa55w0rd! contains invalid characters",
        ("Pa55w0rd!", "Pa55w0rd"),
        "contains invalid characters",
    ),
    Case(
        'password="S3cr3t!pass" rejected: authentication failed',
        ("S3cr3t!pass", "S3cr3t"),
        "authentication failed",
    ),
    Case(
        "login failed: pw=ab",
        ("ab",),
        "login failed",
    ),
    Case(
        'auth response missing scope: {"token": "x1", "expires_in": 3600}',
        ("x1",),
        "missing scope",
    ),
    Case(
        "error: unexpected argument: --password Tr0ub4dor&3",
        ("Tr0ub4dor&3", "Tr0ub4dor"),
        "unexpected argument",
    ),
    Case(
        "--api-key=sk_live_51HxYzAbCdEfGhIjKlMnOpQr is invalid",
        ("sk_live_51HxYz", "AbCdEfGhIjKlMnOpQr"),
        "is invalid",
    ),
    Case(
        "request failed: 401 Unauthorized (Authorization: Bearer "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqZG9lIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk)",
        ("eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJqZG9lIn0", "dBjftJeZ4CVP"),
        "401 unauthorized",
    ),
    Case(
        "proxy rejected credentials Basic amRvZTpodW50ZXIy: 407 Proxy Authentication Required",
        ("amRvZTpodW50ZXIy",),
        "proxy authentication required",
    ),
    Case(
        "failed to parse private key: -----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
        "-----END RSA PRIVATE KEY----- : asn1: structure error",
        ("MIIEpAIBAAKCAQEAu1SU1L", "ffAt0gun"),
        "failed to parse private key",
    ),
    Case(
        "slack notification failed: invalid_auth for token xoxb-2384756120-5647382910-aBcDeFgHiJkLmNoPqRsTuVwX",
        ("xoxb-2384756120", "aBcDeFgHiJkLmNoPqRsTuVwX"),
        "notification failed",
    ),
    Case(
        "GITHUB_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz has expired",
        ("github_pat_11ABCDEFG", "abcdefghijklmnopqrstuvwxyz"),
        "has expired",
    ),
    Case(
        "invalid webhook signature 9c1185a5c5e9fc54612808977ee8f548b2258d31 for delivery "
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        ("9c1185a5c5e9", "72d3162e"),
        "invalid webhook signature",
    ),
    Case(
        "refresh_token=r1 rejected by identity provider",
        ("r1",),
        "rejected by identity provider",
    ),
    Case(
        'invalid config: client_secret: "hello world" must be at least 32 characters',
        ("hello world", "hello"),
        "must be at least 32 characters",
    ),
    Case(
        "403 Forbidden: header x-api-key: 4f8e2a1b rejected",
        ("4f8e2a1b",),
        "403 forbidden",
    ),
    Case(
        'invalid credentials: {"username": "admin", "password": "welcome"}',
        ("welcome",),
        "invalid credentials",
    ),
    Case(
        "Set-Cookie rejected: session=s%3Aj8Kx2.q9Zt; Path=/; HttpOnly: cookie expired",
        ("j8Kx2", "q9Zt"),
        "cookie expired",
    ),
    Case(
        "Error: Invalid value for '--token': 'tk_9QmZ' is too short",
        ("tk_9QmZ", "9QmZ"),
        "is too short",
    ),
    Case(
        "export AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEJr //Fw' failed: not a valid identifier",
        ("IQoJb3JpZ2luX2VjEJr", "//Fw"),
        "not a valid identifier",
    ),
    Case(
        "mysql: [Warning] Using a password on the command line interface can be insecure. "
        "ERROR 1045 (28000): Access denied for user 'svc_reporting'@'10.1.4.22' (using password: YES)",
        ("svc_reporting", "10.1.4.22"),
        "access denied for user",
    ),
]
