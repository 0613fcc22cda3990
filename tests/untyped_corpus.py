"""Error text nobody typed: what plugins, servers and subprocesses say, with private values planted.

Issue 17's corpus, written from the real output shapes of the tools a Testkube
user meets (kubectl, helm, git, registries, AWS/GCP/Azure SDKs, Postgres, Mongo,
Redis, MySQL, requests/urllib3/httpx, k6, Postman/newman, Cypress, Playwright,
JMeter, Python exceptions, YAML/JSON parsers, payment and identity APIs under
test) and in the languages their messages come in (de, fr, es, pt, ja, zh).

Every message reaches the scrubber as UNTYPED text: raised by a plugin as an API
error would be, never as an argument the user typed, so the by-construction
layer cannot help and only the allow-list stands between it and the collector.

`planted` lists each private value with its kind: personal numbers (phone,
card, iban, ssn, date, postcode, cvv, pin, expiry, account, mac, passport),
user ids and names made of dictionary words, secrets behind odd keys, and the
usual hosts, paths, e-mails and IPs.  Each value is an exact substring of the
message.  `keeps` lists the shape phrases (lowercase) a useful scrubbed message
still contains: all of them must survive for the case to count as useful.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

NUMBER_KINDS = ("phone", "card", "iban", "ssn", "date", "postcode", "cvv", "pin", "expiry", "account", "mac",
                "passport")
GROUPS = {  # how the figures are reported (issue 17's table)
    **{kind: "personal numbers" for kind in NUMBER_KINDS},
    "user": "user ids of dictionary words",
    "name": "names of dictionary words",
    "secret": "secrets behind odd keys",
    "host": "hosts, paths, e-mails, IPs, other ids",
    "path": "hosts, paths, e-mails, IPs, other ids",
    "email": "hosts, paths, e-mails, IPs, other ids",
    "ip": "hosts, paths, e-mails, IPs, other ids",
    "other": "hosts, paths, e-mails, IPs, other ids",
}


class Planted(NamedTuple):
    kind: str
    value: str


class UntypedCase(NamedTuple):
    source: str
    message: str
    keeps: tuple[str, ...]
    planted: tuple[Planted, ...]


def case(source: str, message: str, keeps: tuple[str, ...] | str, **planted: tuple[str, ...] | str) -> UntypedCase:
    found = tuple(Planted(kind, value) for kind, values in planted.items()
                  for value in ((values,) if isinstance(values, str) else values))
    return UntypedCase(source, message, (keeps,) if isinstance(keeps, str) else keeps, found)


UNTYPED: list[UntypedCase] = [
    # --- kubectl / Kubernetes API ---------------------------------------------------------
    case("kubectl", 'Error from server (Forbidden): secrets is forbidden: User "will.short" cannot get resource '
         '"secrets" in API group "" in the namespace "billing-prod"',
         ("is forbidden", "cannot get resource"), user="will.short", other="billing-prod"),
    case("kubectl", 'Error from server (NotFound): pods "ledger-api-6b7f9d8c5-q2wzt" not found',
         "not found", other=("ledger-api-6b7f9d8c5-q2wzt", "q2wzt")),
    case("kubectl", "error: unable to forward port because pod is not running. Current status=Pending "
         "(node gke-initech-pool-1-7c3a9f2e-k8vx)",
         ("unable to forward port", "pod is not running"), host=("gke-initech-pool-1-7c3a9f2e-k8vx", "initech")),
    case("kubectl", 'The Deployment "payroll-sync" is invalid: spec.template.spec.containers[0].env[3].value: '
         'Invalid value: "+1 (212) 555-0187": must be no more than 63 characters',
         ("is invalid", "must be no more than 63 characters"), phone="+1 (212) 555-0187", other="payroll-sync"),
    case("kubectl", 'MountVolume.SetUp failed for volume "nfs-share" : mount failed: exit status 32 Mounting '
         "arguments: -t nfs 10.40.3.9:/exports/hr/max.long /var/lib/kubelet/pods/3c1e/volumes",
         ("mountvolume.setup failed for volume", "exit status 32"), ip="10.40.3.9", user="max.long"),
    case("kubectl", 'error: error validating "deploy/ledger.yaml": error validating data: ValidationError(Deployment'
         '.spec.template.spec.containers[0]): unknown field "imagePullPolicyy" in io.k8s.api.core.v1.Container',
         ("unknown field", "error validating data"), path="deploy/ledger.yaml"),
    case("kubectl", "Unable to connect to the server: dial tcp: lookup k8s-api.hooli-internal.net on "
         "192.168.65.5:53: read udp 192.168.65.4:41872->192.168.65.5:53: i/o timeout",
         ("unable to connect to the server", "i/o timeout"),
         host="k8s-api.hooli-internal.net", ip=("192.168.65.5", "192.168.65.4")),
    case("kubectl", 'Error from server (BadRequest): container "app" in pod "signup-web-5f6d7c8b9-x7k2m" is waiting '
         "to start: trying and failing to pull image",
         ("is waiting to start", "failing to pull image"), other="signup-web-5f6d7c8b9-x7k2m"),
    case("kubectl", "Error in configuration: context was not found for specified context: will-short-sandbox",
         "context was not found for specified context", user="will-short"),
    case("kubectl", 'pods "ingest-7d9" is forbidden: violates PodSecurity "restricted:latest": '
         'allowPrivilegeEscalation != false (container "ingest" must set '
         "securityContext.allowPrivilegeEscalation=false)",
         ("is forbidden", "violates podsecurity", "must set"), other="ingest-7d9"),
    case("kubectl", 'admission webhook "validate.kyverno.svc-fail" denied the request: resource '
         "Deployment/hr-portal/employee-records was blocked due to the following policies: require-labels: "
         'label "owner=may.long" is required',
         ("denied the request", "was blocked due to the following policies"),
         user="may.long", other=("hr-portal", "employee-records")),
    case("kubectl", "error: failed to create secret: invalid value in smtp.env: SMTP_PASSWRD=Tr4ns1t-Gl0be is not a "
         "valid key name: a valid environment variable name must consist of alphabetic characters",
         ("failed to create secret", "must consist of alphabetic characters"), secret="Tr4ns1t-Gl0be"),
    case("kubectl", 'Error from server (Conflict): Operation cannot be fulfilled on configmaps "feature-flags-globex": '
         "the object has been modified; please apply your changes to the latest version and try again",
         ("operation cannot be fulfilled", "the object has been modified"), other="feature-flags-globex"),
    case("kubectl", 'Error from server (InternalError): Internal error occurred: failed calling webhook '
         '"mutate.istio.io": Post "https://istiod.istio-system.svc:443/inject?timeout=10s": context deadline exceeded',
         ("failed calling webhook", "context deadline exceeded"), host="istiod.istio-system.svc"),
    case("kubectl", 'node "ip-10-42-7-19.eu-central-1.compute.internal" not ready: KubeletNotReady: PLEG is not '
         "healthy: pleg was last seen active 3m12.5s ago",
         ("not ready", "is not healthy"), host="ip-10-42-7-19"),
    case("kubectl", "Error: timed out waiting for the condition on pods/onboarding-will-short-0",
         "timed out waiting for the condition", user="will-short"),
    case("kubectl", "Liveness probe failed: Get \"http://10.244.1.15:8080/healthz\": dial tcp 10.244.1.15:8080: "
         "connect: connection refused", ("liveness probe failed", "connection refused"), ip="10.244.1.15"),
    case("kubectl", "Back-off restarting failed container ledger in pod ledger-may-field-7c9d_finance"
         "(5b1e2c3d-4f5a-6b7c-8d9e-0f1a2b3c4d5e)",
         "back-off restarting failed container", user="may-field", other="5b1e2c3d-4f5a"),
    # --- helm ----------------------------------------------------------------------------------
    case("helm", 'Error: INSTALLATION FAILED: rendered manifests contain a resource that already exists. Unable to '
         'continue with install: ServiceAccount "payroll-bot" in namespace "finance-eu" exists and cannot be '
         "imported into the current release",
         ("rendered manifests contain a resource that already exists", "cannot be imported"),
         other=("payroll-bot", "finance-eu")),
    case("helm", 'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress for release '
         '"crm-max-long"', ("upgrade failed", "another operation", "is in progress"), user="max-long"),
    case("helm", 'Error: template: ledger/templates/secret.yaml:14:21: executing "ledger/templates/secret.yaml" at '
         "<.Values.db.passwrod>: nil pointer evaluating interface {}.passwrod",
         "nil pointer evaluating interface", path="ledger/templates"),
    case("helm", "Error: failed to fetch https://charts.globex.example/index.yaml : 401 Unauthorized",
         ("failed to fetch", "401 unauthorized"), host="charts.globex.example"),
    case("helm", 'Error: INSTALLATION FAILED: Ingress.extensions "storefront-globex" is invalid: spec.rules[0].host: '
         'Invalid value: "Shop.Initech.Example": a lowercase RFC 1123 subdomain must consist of lower case '
         "alphanumeric characters", ("is invalid", "must consist of lower case alphanumeric characters"),
         host="Shop.Initech.Example", other="storefront-globex"),
    case("helm", 'Error: repo "initech-charts" not found', "not found", other="initech-charts"),
    case("helm", 'Error: Kubernetes cluster unreachable: Get "https://35.204.118.7/version": getting credentials: '
         "exec: executable gke-gcloud-auth-plugin not found",
         ("kubernetes cluster unreachable", "not found"), ip="35.204.118.7"),
    case("helm", 'Error: failed to download "oci://ghcr.io/globex-hr/charts/payroll" (hint: running `helm repo '
         "update` may help)", ("failed to download", "may help"), other="globex-hr"),
    case("helm", 'Error: INSTALLATION FAILED: Unable to continue with install: could not get information about the '
         'resource Secret "grafana-admin" in namespace "observability": secrets "grafana-admin" is forbidden: User '
         '"system:serviceaccount:ci:june-deployer" cannot get resource "secrets"',
         ("installation failed", "cannot get resource"), user="june-deployer"),
    # --- git -------------------------------------------------------------------------------------
    case("git", "fatal: unable to access 'https://max.long:ghp_9fK2mQ7xLp4Rt8Vw1Zb6Nc3Hd5Jy0Ae2Su4@github.com/"
         "initech/tps-reports.git/': The requested URL returned error: 403",
         ("unable to access", "returned error: 403"),
         user="max.long", secret="ghp_9fK2mQ7xLp4Rt8Vw1Zb6Nc3Hd5Jy0Ae2Su4", other="tps-reports"),
    case("git", "error: src refspec feature/will-short-onboarding does not match any",
         "does not match any", user="will-short"),
    case("git", "Author identity unknown\n\n*** Please tell me who you are.\n\nfatal: unable to auto-detect email "
         "address (got 'june@DESKTOP-7QK2M3L.(none)')",
         ("author identity unknown", "unable to auto-detect email address"), host="DESKTOP-7QK2M3L"),
    case("git", "fatal: could not read Password for 'https://will.short@dev.azure.com': terminal prompts disabled",
         ("could not read password", "terminal prompts disabled"), user="will.short"),
    case("git", "error: RPC failed; HTTP 413 curl 22 The requested URL returned error: 413 (pushing to "
         "https://git.hooli.example/rose.king/ledger.git)\nfatal: the remote end hung up unexpectedly",
         ("rpc failed", "http 413", "hung up unexpectedly"), host="git.hooli.example", user="rose.king"),
    case("git", "CONFLICT (content): Merge conflict in config/customers/ava-martinez.yaml\nAutomatic merge failed; "
         "fix conflicts and then commit the result.",
         ("merge conflict in", "automatic merge failed"), name="ava-martinez"),
    case("git", "fatal: 'origin' does not appear to be a git repository\nfatal: Could not read from remote "
         "repository. (git@git.globex.example:payments/refunds.git)",
         "does not appear to be a git repository", host="git.globex.example", other="payments/refunds"),
    case("git", "remote: error: GH013: Repository rule violations found for refs/heads/main. remote: - Push cannot "
         "contain secrets: Stripe API Key sk_live_4eC39HqLyjWDarjtT1zdp7dc",
         ("repository rule violations found", "push cannot contain secrets"),
         secret="sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    case("git", "fatal: detected dubious ownership in repository at '/home/may.green/src/ledger'",
         "detected dubious ownership in repository", user="may.green"),
    case("git", "error: cannot lock ref 'refs/remotes/origin/max/long-hotfix': is at 3f9c2a1 but expected 7b4e8d0",
         ("cannot lock ref", "but expected"), user="max/long-hotfix"),
    case("git", "fatal: Needed a single revision (branch june/fix-ssn-219-09-9998)",
         "needed a single revision", ssn="219-09-9998"),
    # --- registries and docker ------------------------------------------------------------------
    case("registry", 'Error response from daemon: Head "https://registry.initech.example/v2/payroll/api/manifests/'
         '2.3.1": unauthorized: authentication required', "authentication required", host="registry.initech.example"),
    case("registry", "denied: requested access to the resource is denied (docker.io/willshort/ledger-ui)",
         "requested access to the resource is denied", user="willshort"),
    case("registry", 'Error response from daemon: Get "https://harbor.hooli.example/v2/": x509: certificate signed '
         "by unknown authority", "certificate signed by unknown authority", host="harbor.hooli.example"),
    case("docker", 'failed to solve: process "/bin/sh -c pip install -r requirements.txt --index-url '
         'https://deploy:Q7v!mZ2p@pypi.globex.example/simple" did not complete successfully: exit code: 1',
         ("did not complete successfully", "exit code: 1"), secret="Q7v!mZ2p", host="pypi.globex.example"),
    case("docker", "docker: Error response from daemon: driver failed programming external connectivity on "
         "endpoint ledger-db-globex (4f1c2e9a8b7d): Bind for 0.0.0.0:5432 failed: port is already allocated.",
         "port is already allocated", other="ledger-db-globex"),
    case("registry", "Error: failed to push ghcr.io/june-park/checkout:1.4.2: denied: permission_denied: "
         "write_package", ("failed to push", "denied"), user="june-park"),
    case("registry", 'manifest unknown: manifest tagged by "sha-9c1e4f7" is not found in registry '
         "482913377105.dkr.ecr.eu-west-1.amazonaws.com",
         ("manifest unknown", "is not found in registry"), account="482913377105"),
    case("registry", "Error response from daemon: pull access denied for maxlong/k6-runner, repository does not "
         "exist or may require 'docker login'", ("pull access denied", "repository does not exist"), user="maxlong"),
    case("docker", 'ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 6d1f: '
         '"/home/ava/secrets/.npmrc": not found', ("failed to compute cache key", "not found"), path="/home/ava"),
    case("registry", 'unauthorized: incorrect username or password (username "ava.martinez@initech.example")',
         "incorrect username or password", email="ava.martinez@initech.example"),
    # --- AWS -------------------------------------------------------------------------------------
    case("aws", "An error occurred (AccessDeniedException) when calling the GetSecretValue operation: User: "
         "arn:aws:iam::739205184426:user/max.long is not authorized to perform: secretsmanager:GetSecretValue on "
         "resource: prod/payroll/db because no identity-based policy allows the secretsmanager:GetSecretValue action",
         ("is not authorized to perform", "because no identity-based policy allows"),
         account="739205184426", user="max.long", other="prod/payroll/db"),
    case("aws", "botocore.exceptions.ClientError: An error occurred (InvalidAccessKeyId) when calling the "
         "ListObjectsV2 operation: The AWS Access Key Id you provided does not exist in our records. "
         "AWSAccessKeyId=AKIA4XJ7QW2RZK5M9TBN", "does not exist in our records", secret="AKIA4XJ7QW2RZK5M9TBN"),
    case("aws", "An error occurred (ConditionalCheckFailedException) when calling the PutItem operation: The "
         'conditional request failed for item {"email": "june.park@hooli.example", "phone": "+44 20 7946 0831"}',
         "the conditional request failed", email="june.park@hooli.example", phone="+44 20 7946 0831"),
    case("aws", 'fatal error: An error occurred (404) when calling the HeadObject operation: Key '
         '"exports/customers/2024/ava-martinez-ssn-078-05-1121.csv" does not exist',
         ("an error occurred (404)", "does not exist"), ssn="078-05-1121", name="ava-martinez"),
    case("aws", 'Unable to locate credentials. You can configure credentials by running "aws configure". '
         "(AWS_PROFILE=rose-hill-dev)", "unable to locate credentials", user="rose-hill"),
    case("aws", "An error occurred (ThrottlingException) when calling the DescribeStacks operation (reached max "
         "retries: 4): Rate exceeded for stack arn:aws:cloudformation:us-east-1:739205184426:stack/hr-onboarding/5c2e",
         ("rate exceeded", "reached max retries: 4"), account="739205184426", other="hr-onboarding"),
    case("aws", "An error occurred (InvalidKeyPair.NotFound) when calling the RunInstances operation: The key pair "
         "'ava-laptop-key' does not exist", "does not exist", other="ava-laptop-key"),
    case("aws", "S3 upload failed: Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; "
         "Request ID: 7QK2M3LX9B1V; S3 Extended Request ID: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==; Proxy: null)",
         ("access denied", "status code: 403"), other=("7QK2M3LX9B1V", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA")),
    # --- GCP -------------------------------------------------------------------------------------
    case("gcp", "google.api_core.exceptions.PermissionDenied: 403 Permission 'secretmanager.versions.access' "
         "denied on resource 'projects/initech-payroll-prod/secrets/smtp-passwrod/versions/latest' (or it may not "
         "exist).", ("denied on resource", "403"), other="initech-payroll-prod"),
    case("gcp", "ERROR: (gcloud.auth.login) There was a problem with web authentication. (account: "
         "june.fields@gmail.com)", "there was a problem with web authentication", email="june.fields@gmail.com"),
    case("gcp", 'ERROR: (gcloud.container.clusters.get-credentials) ResponseError: code=403, message=Required '
         '"container.clusters.get" permission(s) for "projects/hooli-ml-7781/locations/us-central1/clusters/'
         'training".', ("permission(s) for", "code=403"), other="hooli-ml-7781"),
    case("gcp", "google.auth.exceptions.RefreshError: ('invalid_grant: Token has been expired or revoked.', "
         "{'error': 'invalid_grant', 'account': 'ci-deployer@initech-prod.iam.gserviceaccount.com'})",
         "token has been expired or revoked", email="ci-deployer@initech-prod.iam.gserviceaccount.com"),
    case("gcp", "googleapi: Error 409: Already exists: projects/hooli-ml-7781/topics/orders-max-long, alreadyExists",
         ("already exists", "error 409"), other="hooli-ml-7781", user="max-long"),
    case("gcp", 'Error 400: The bucket name "ava-martinez-backups" is not available. Please try again with a '
         "different name.", ("is not available", "error 400"), name="ava-martinez"),
    # --- Azure -----------------------------------------------------------------------------------
    case("azure", "AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: "
         "8c2f4e1a-6b3d-4f9e-a7c1-2d5e8b9f0a34 Timestamp: 2024-05-14 09:12:45Z (user: "
         "will.short@initech.onmicrosoft.com)",
         "error validating credentials due to invalid username or password",
         email="will.short@initech.onmicrosoft.com", other="8c2f4e1a"),
    case("azure", "(AuthorizationFailed) The client 'max.long@hooli.example' with object id "
         "'3b9f2c1e-8d4a-4f6b-9e2c-7a1d5f8b3c6e' does not have authorization to perform action "
         "'Microsoft.Storage/storageAccounts/listKeys/action' over scope "
         "'/subscriptions/0c4e7a9b-2f1d-4c8e-b5a3-6e9d2f1c8b7a/resourceGroups/payroll-rg'",
         "does not have authorization to perform action",
         email="max.long@hooli.example", other=("3b9f2c1e", "0c4e7a9b", "payroll-rg")),
    case("azure", "Code: ResourceGroupNotFound Message: Resource group 'june-park-sandbox' could not be found.",
         "could not be found", user="june-park"),
    case("azure", "azure.core.exceptions.ClientAuthenticationError: DefaultAzureCredential failed to retrieve a token "
         "from the included credentials. EnvironmentCredential: AZURE_CLIENT_SECRT=q8Z~vT3.nL2-xK9wP5mR7sB1yC4 is "
         "malformed", ("failed to retrieve a token from the included credentials", "is malformed"),
         secret="q8Z~vT3.nL2-xK9wP5mR7sB1yC4"),
    case("azure", "The storage account named avamartinezstore is already taken. (Code: StorageAccountAlreadyTaken)",
         "is already taken", user="avamartinezstore"),
    case("azure", "ERROR: The subscription '5d2e8f1a-3c7b-4e9d-a6f2-1b8c4d7e9f0a' could not be found. Double check "
         "the subscription id or use 'az login' for user rose.king@initech.example",
         "could not be found", other="5d2e8f1a", email="rose.king@initech.example"),
    # --- Postgres --------------------------------------------------------------------------------
    case("postgres", 'psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint '
         '"customers_phone_key"\nDETAIL:  Key (phone)=(+49 151 2345 6789) already exists.',
         ("duplicate key value violates unique constraint", "already exists"), phone="+49 151 2345 6789"),
    case("postgres", 'ERROR:  new row for relation "patients" violates check constraint "patients_birth_date_check"\n'
         "DETAIL:  Failing row contains (8812, Max, Long, 1987-11-23, 10115, max.long@hooli.example).",
         ("violates check constraint", "failing row contains"),
         account="8812", name="Max, Long", date="1987-11-23", postcode="10115", email="max.long@hooli.example"),
    case("postgres", 'FATAL:  password authentication failed for user "may_field"',
         "password authentication failed for user", user="may_field"),
    case("postgres", 'psql: error: connection to server at "pg-ledger.initech.internal" (10.12.4.21), port 5432 '
         "failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
         ("connection refused", "port 5432", "is the server running"),
         host="pg-ledger.initech.internal", ip="10.12.4.21"),
    case("postgres", 'ERROR:  insert or update on table "orders" violates foreign key constraint '
         '"orders_customer_id_fkey"\nDETAIL:  Key (customer_id)=(440187) is not present in table "customers".',
         ("violates foreign key constraint", "is not present in table"), account="440187"),
    case("postgres", 'ERROR:  value too long for type character varying(16)\nCONTEXT:  COPY cards, line 7, column '
         'pan: "4111 1111 1111 1111 exp 04/28"', ("value too long for type character varying", "line 7"),
         card="4111 1111 1111 1111", expiry="04/28"),
    case("postgres", 'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at '
         '"10.12.4.21", port 6432 failed: FATAL:  no pg_hba.conf entry for host "10.12.7.88", user "june_park", '
         'database "payroll-eu", no encryption', ("entry for host", "port 6432"),
         ip=("10.12.4.21", "10.12.7.88"), user="june_park", other="payroll-eu"),
    case("postgres", 'ERROR:  invalid input syntax for type date: "31/02/1990"',
         "invalid input syntax for type date", date="31/02/1990"),
    # --- MongoDB ---------------------------------------------------------------------------------
    case("mongo", 'MongoServerError: E11000 duplicate key error collection: crm.contacts index: phone_1 dup key: '
         '{ phone: "+33 6 12 34 56 78" }', ("duplicate key error collection", "dup key"), phone="+33 6 12 34 56 78"),
    case("mongo", "MongoServerError: bad auth : Authentication failed. (mongodb+srv://max_long:Fr0sty-Lake-92@"
         "cluster0.x7qpz.mongodb.net/ledger)", ("bad auth", "authentication failed"),
         user="max_long", secret="Fr0sty-Lake-92", host="x7qpz"),
    case("mongo", "MongoNetworkError: connect ECONNREFUSED 10.8.0.14:27017", "connect econnrefused", ip="10.8.0.14"),
    case("mongo", 'MongoServerError: Document failed validation: { "failingDocumentId": "65f1c2e9a8b7d6c5e4f3a2b1", '
         '"details": { "ssn": "219-09-9999" } }', "document failed validation",
         ssn="219-09-9999", other="65f1c2e9a8b7d6c5e4f3a2b1"),
    case("mongo", "MongoServerSelectionError: getaddrinfo ENOTFOUND mongo-2.hooli-data.svc.cluster.local",
         "getaddrinfo enotfound", host="hooli-data"),
    # --- Redis -----------------------------------------------------------------------------------
    case("redis", "redis.exceptions.AuthenticationError: WRONGPASS invalid username-password pair or user is "
         "disabled. (redis://may.field:Plum-Tree-47@cache.initech.internal:6380/2)",
         ("invalid username-password pair", "user is disabled"),
         user="may.field", secret="Plum-Tree-47", host="cache.initech.internal"),
    case("redis", "redis.exceptions.ConnectionError: Error 111 connecting to 10.20.1.7:6379. Connection refused.",
         ("connection refused", "error 111"), ip="10.20.1.7"),
    case("redis", "redis.exceptions.ResponseError: WRONGTYPE Operation against a key holding the wrong kind of value "
         "(key: cart:june.park)", "operation against a key holding the wrong kind of value", user="june.park"),
    case("redis", "NOAUTH Authentication required. (AUTH tokn=Zq8-Rv2x-Lm5w rejected)",
         "authentication required", secret="Zq8-Rv2x-Lm5w"),
    # --- MySQL -----------------------------------------------------------------------------------
    case("mysql", "ERROR 1045 (28000): Access denied for user 'max_long'@'172.18.0.5' (using password: YES)",
         ("access denied for user", "error 1045"), user="max_long", ip="172.18.0.5"),
    case("mysql", "pymysql.err.IntegrityError: (1062, \"Duplicate entry 'FR14 2004 1010 0505 0001 3M02 606' for key "
         "'accounts.iban'\")", ("duplicate entry", "for key"), iban="FR14 2004 1010 0505 0001 3M02 606"),
    case("mysql", "mysql.connector.errors.ProgrammingError: 1146 (42S02): Table 'hr.employees_june' doesn't exist",
         "doesn't exist", user="employees_june"),
    case("mysql", "ERROR 2003 (HY000): Can't connect to MySQL server on 'db.globex.internal:3306' (111)",
         ("can't connect to mysql server", "error 2003"), host="db.globex.internal"),
    case("mysql", "MYSQL_PWD=Gr33n-Apple-19 mysqldump: Got error: 1045: Access denied for user 'backup'@'localhost'",
         ("access denied for user", "got error"), secret="Gr33n-Apple-19"),
    # --- requests / urllib3 / httpx / aiohttp ------------------------------------------------------
    case("requests", "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.initech.example', port=443): "
         "Max retries exceeded with url: /v2/customers?email=june.park%40hooli.example&phone=%2B14155550172 "
         "(Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f3a2c1d9e80>: Failed to "
         "establish a new connection: [Errno 111] Connection refused'))",
         ("max retries exceeded", "connection refused"),
         host="api.initech.example", email="june.park%40hooli.example", phone="14155550172"),
    case("httpx", "httpx.HTTPStatusError: Client error '422 Unprocessable Entity' for url "
         "'https://api.globex.example/v1/payments?card=4242424242424242&cvc=737'",
         ("client error", "422 unprocessable entity"), card="4242424242424242", host="api.globex.example"),
    case("requests", "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
         "https://hooli.example/api/users/will.short", ("401 client error", "unauthorized for url"),
         user="will.short"),
    case("urllib3", "urllib3.exceptions.MaxRetryError: HTTPConnectionPool(host='10.0.3.44', port=8088): Max retries "
         "exceeded with url: /v1/executions (Caused by ReadTimeoutError(\"HTTPConnectionPool(host='10.0.3.44', "
         "port=8088): Read timed out. (read timeout=30)\"))", ("max retries exceeded", "read timed out"),
         ip="10.0.3.44"),
    case("requests", "requests.exceptions.SSLError: HTTPSConnectionPool(host='vault.globex.internal', port=8200): Max "
         "retries exceeded with url: /v1/secret/data/payroll (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
         "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain "
         "(_ssl.c:1006)')))", ("max retries exceeded", "self-signed certificate in certificate chain"),
         host="vault.globex.internal"),
    case("httpx", "httpx.ConnectTimeout: timed out while connecting to https://sso.initech.example/realms/staff/"
         "protocol/openid-connect/token (client_secret=Wx7-pL2q-Nm9z)", "timed out while connecting",
         host="sso.initech.example", secret="Wx7-pL2q-Nm9z"),
    case("requests", "requests.exceptions.InvalidHeader: Invalid leading whitespace, reserved character(s), or return "
         "character(s) in header value: ' Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYXgubG9uZyJ9.c2lnbmF0dXJlLWhlcmU'",
         ("invalid leading whitespace", "in header value"), secret=("eyJzdWIiOiJtYXgubG9uZyJ9", "c2lnbmF0dXJl")),
    case("aiohttp", "aiohttp.client_exceptions.ClientResponseError: 429, message='Too Many Requests', "
         "url=URL('https://api.hooli.example/v3/contacts/+447700900123')", ("too many requests", "429"),
         phone="+447700900123", host="api.hooli.example"),
    # --- k6 ----------------------------------------------------------------------------------------
    case("k6", "ERRO[0012] GoError: request to https://shop.initech.example/api/checkout failed: dial tcp "
         "203.0.113.45:443: connect: connection refused\n\tat file:///home/ava/perf/checkout.js:42:13(88)",
         ("goerror", "connection refused"), host="shop.initech.example", ip="203.0.113.45", path="/home/ava"),
    case("k6", "ERRO[0031] thresholds on metrics 'http_req_duration{scenario:june_park_smoke}' have been crossed",
         ("thresholds on metrics", "have been crossed"), user="june_park"),
    case("k6", "ERRO[0003] TypeError: Cannot read property 'token' of undefined or null\n\tat login "
         "(file:///scripts/max-long/login.js:17:28(34))", ("cannot read property", "of undefined or null"),
         user="max-long"),
    case("k6", 'WARN[0005] Request Failed  error="Post \\"https://auth.globex.example/login\\": request timeout" '
         "(username=rose.king passwrod=Spring2024!)", ("request failed", "request timeout"),
         user="rose.king", secret="Spring2024!"),
    case("k6", "ERRO[0000] could not initialize '/home/will/load/main.js': could not load JS test "
         "'file:///home/will/load/main.js': SyntaxError: Unexpected token (14:9)",
         ("could not initialize", "unexpected token"), path="/home/will"),
    case("k6", "ERRO[0045] Error: check failed: expected status 201 but got 409 for user +49 176 98765432",
         ("check failed", "expected status 201", "got 409"), phone="+49 176 98765432"),
    # --- Postman / newman ----------------------------------------------------------------------------
    case("newman", "AssertionError: expected response to have status code 200 but got 500 (customer ssn 123-45-6780)",
         ("expected response to have status code 200", "got 500"), ssn="123-45-6780"),
    case("newman", "newman: error: ENOENT: no such file or directory, open '/Users/june.park/Collections/Payroll "
         "API.postman_collection.json'", "no such file or directory", user="june.park", other="Payroll API"),
    case("newman", "AssertionError  Response body: expected { Object (id, name, ...) } to deeply equal { Object (id, "
         'name, ...) } at assertion:0 in test-script inside "Create customer Max Long"',
         ("assertionerror", "to deeply equal"), name="Max Long"),
    case("newman", "TypeError: Cannot read properties of undefined (reading 'iban') in test script: "
         "pm.expect(jsonData.iban).to.equal('ES91 2100 0418 4502 0005 1332')",
         "cannot read properties of undefined", iban="ES91 2100 0418 4502 0005 1332"),
    case("newman", "AssertionError: expected '+1 646 555 0143' to equal '+1 646 555 0199'",
         ("assertionerror", "to equal"), phone=("+1 646 555 0143", "+1 646 555 0199")),
    case("newman", "AssertionError: expected [ 'admin', 'auditor' ] to include 'payroll-approver' (user may.long)",
         ("assertionerror", "to include"), user="may.long", other="payroll-approver"),
    case("newman", "newman: request failed: getaddrinfo EAI_AGAIN api.hooli-staging.example (environment: "
         "will-short-env)", ("request failed", "getaddrinfo"), host="api.hooli-staging.example", user="will-short"),
    # --- Cypress -----------------------------------------------------------------------------------
    case("cypress", "CypressError: Timed out retrying after 4000ms: `cy.visit()` failed trying to load:\n\n"
         "https://portal.initech.example/login?user=june.park\n\nWe attempted to make an http request to this URL "
         "but the request failed without a response.",
         ("timed out retrying after 4000ms", "cy.visit()", "failed trying to load"),
         host="portal.initech.example", user="june.park"),
    case("cypress", "AssertionError: Timed out retrying after 10000ms: expected '<input#phone>' to have value "
         "'+44 7700 900456', but the value was '+44 7700 900457'",
         ("timed out retrying after 10000ms", "to have value"), phone=("+44 7700 900456", "+44 7700 900457")),
    case("cypress", "CypressError: `cy.type()` failed because it requires a valid typeable element. The element typed "
         'into was: <input#cc-number value="5555 5555 5555 4444">',
         ("cy.type()", "failed because it requires a valid typeable element"), card="5555 5555 5555 4444"),
    case("cypress", "Error: Webpack Compilation Error\n./cypress/e2e/max-long/checkout.cy.ts\nModule not found: "
         "Error: Can't resolve '../fixtures/customers'", ("webpack compilation error", "module not found"),
         user="max-long"),
    case("cypress", "cy.request() failed on:\n\nhttps://api.globex.example/customers/DE-10117-ava\n\nThe response "
         "we received from your web server was:\n\n  > 403: Forbidden", ("cy.request() failed on", "403: forbidden"),
         host="api.globex.example", postcode="10117"),
    case("cypress", "The following error originated from your application code, not from Cypress.\n\n  > Uncaught "
         "TypeError: Cannot read properties of null (reading 'birthDate') for patient 1962-07-04",
         ("originated from your application code", "cannot read properties of null"), date="1962-07-04"),
    # --- Playwright --------------------------------------------------------------------------------
    case("playwright", "page.goto: net::ERR_NAME_NOT_RESOLVED at https://intranet.hooli.example/hr/employees/"
         'max.long\nCall log:\n  - navigating to "https://intranet.hooli.example/hr/employees/max.long", waiting '
         'until "load"', ("page.goto", "err_name_not_resolved"), host="intranet.hooli.example", user="max.long"),
    case("playwright", "locator.click: Timeout 30000ms exceeded.\nCall log:\n  - waiting for getByRole('button', "
         "{ name: 'Pay with card ending 8210' })", ("locator.click", "timeout 30000ms exceeded"), card="8210"),
    case("playwright", 'expect(locator).toHaveText(expected)\n\nExpected string: "Welcome, Will Short"\nReceived '
         'string: "Welcome, guest"\nCall log:\n  - expect.toHaveText with timeout 5000ms',
         ("expected string", "received string", "timeout 5000ms"), name="Will Short"),
    case("playwright", "browserType.launch: Executable doesn't exist at "
         "/home/rose/.cache/ms-playwright/chromium-1097/chrome-linux/chrome",
         ("browsertype.launch", "executable doesn't exist at"), path="/home/rose"),
    case("playwright", 'Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: '
         '"ava.martinez@initech.example"\nReceived: "june.park@initech.example"',
         ("object.is equality", "expected"), email=("ava.martinez@initech.example", "june.park@initech.example")),
    case("playwright", "page.fill: Error: Element is not an <input>, <textarea> or [contenteditable] element\n  - "
         "waiting for locator('#iban') with value 'PT50 0002 0123 1234 5678 9015 4'",
         ("page.fill", "element is not an"), iban="PT50 0002 0123 1234 5678 9015 4"),
    # --- JMeter ------------------------------------------------------------------------------------
    case("jmeter", "Response code: 500\nResponse message: Internal Server Error\nAssertion failure message: Test "
         "failed: text expected to contain /\"status\":\"ok\"/ (thread: Checkout 1-7, user max.long@hooli.example)",
         ("response code: 500", "internal server error", "assertion failure message"),
         email="max.long@hooli.example"),
    case("jmeter", "java.net.UnknownHostException: jmeter-target.globex.internal: Name or service not known",
         ("unknownhostexception", "name or service not known"), host="jmeter-target.globex.internal"),
    case("jmeter", "org.apache.jorphan.util.JMeterStopTestException: End of file reached for "
         "/data/users-rose-hill.csv", "end of file reached for", user="rose-hill"),
    case("jmeter", "Non HTTP response code: javax.net.ssl.SSLHandshakeException/Non HTTP response message: PKIX path "
         "building failed: unable to find valid certification path to requested target (host vault.initech.example)",
         ("non http response code", "pkix path building failed"), host="vault.initech.example"),
    # --- Python exceptions -----------------------------------------------------------------------------
    case("python", "subprocess.CalledProcessError: Command '['kubectl', 'apply', '-f', "
         "'/home/june/deploy/payroll.yaml']' returned non-zero exit status 1.",
         "returned non-zero exit status 1", path="/home/june"),
    case("python", "KeyError: 'will.short@initech.example'", "keyerror", email="will.short@initech.example"),
    case("python", "ValueError: invalid literal for int() with base 10: '0176 5551234'",
         "invalid literal for int() with base 10", phone="0176 5551234"),
    case("python", "FileNotFoundError: [Errno 2] No such file or directory: "
         "'/home/max/.config/testkube/credentials.json'", ("no such file or directory", "errno 2"), path="/home/max"),
    case("python", "ModuleNotFoundError: No module named 'initech_payroll'", "no module named",
         other="initech_payroll"),
    case("python", "PermissionError: [Errno 13] Permission denied: "
         "'C:\\Users\\MayLong\\AppData\\Roaming\\testkube\\config.toml'", ("permission denied", "errno 13"),
         user="MayLong"),
    case("python", "TimeoutError: [Errno 110] Connection timed out (connecting to 198.51.100.23:8443 as rose.king)",
         ("connection timed out", "errno 110"), ip="198.51.100.23", user="rose.king"),
    case("python", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 1043: invalid continuation "
         "byte (file: Zoë Müller.csv)", ("can't decode byte", "invalid continuation byte"), name="Zoë Müller"),
    case("python", 'AssertionError: {"detail": "card 4000 0027 6000 3184 declined, cvc 271"}',
         ("assertionerror", "declined"), card="4000 0027 6000 3184", cvv="271"),
    case("python", "sqlite3.IntegrityError: UNIQUE constraint failed: users.phone (+31 6 12345678)",
         "unique constraint failed", phone="+31 6 12345678"),
    # --- YAML / JSON / TOML parsers --------------------------------------------------------------------
    case("yaml", 'yaml.scanner.ScannerError: mapping values are not allowed here\n  in '
         '"/home/ava/tests/payroll-smoke.yaml", line 12, column 18',
         ("mapping values are not allowed here", "line 12"), path="/home/ava"),
    case("yaml", "yaml: unmarshal errors:\n  line 8: cannot unmarshal !!str `max.long` into int",
         ("cannot unmarshal", "line 8"), user="max.long"),
    case("yaml", "error converting YAML to JSON: yaml: line 23: found character that cannot start any token "
         "(near 'password: %R0se-Garden')", ("found character that cannot start any token", "line 23"),
         secret="R0se-Garden"),
    case("json", "json: cannot unmarshal number 4915123456789 into Go struct field Contact.phone of type string",
         ("cannot unmarshal number", "of type string"), phone="4915123456789"),
    case("json", 'SyntaxError: Unexpected token } in JSON at position 212 (body: {"name":"June Park",'
         '"dob":"14.02.1991",})', ("unexpected token", "in json at position 212"),
         name="June Park", date="14.02.1991"),
    case("toml", "toml.decoder.TomlDecodeError: Found invalid character in key name: '@'. Try quoting the key name. "
         "(line 4 column 9 char 61) in /Users/willshort/.testkube/config.toml",
         ("found invalid character in key name", "line 4"), user="willshort"),
    # --- payment and identity APIs under test ---------------------------------------------------------
    case("api", 'API returned 402: {"error":{"code":"card_declined","message":"Your card was declined.",'
         '"card":{"last4":"8431","exp":"09/27","country":"US"}}}', ("returned 402", "your card was declined"),
         card="8431", expiry="09/27"),
    case("api", "Payment failed: card 5105 1051 0510 5100 expiring 08/26 rejected by issuer (CVV2 mismatch: 913)",
         ("payment failed", "rejected by issuer"), card="5105 1051 0510 5100", expiry="08/26", cvv="913"),
    case("api", "SEPA mandate invalid: IBAN IT60 X054 2811 1010 0000 0123 456 for Max Long (born 03.09.1978) failed "
         "checksum", ("invalid", "failed checksum"), iban="IT60 X054 2811 1010 0000 0123 456", name="Max Long",
         date="03.09.1978"),
    case("api", "validation error: phone: '(415) 555-2671' is not a valid E.164 number; zip: '94107-1234' does not "
         "match pattern", ("is not a valid", "does not match pattern"), phone="(415) 555-2671",
         postcode="94107-1234"),
    case("api", '422 Unprocessable Entity: {"errors":[{"field":"ssn","value":"512-44-9087",'
         '"reason":"already registered"}]}', ("422 unprocessable entity", "already registered"), ssn="512-44-9087"),
    case("api", "KYC check failed for applicant June Park, DOB 1990-06-15, postcode SW1A 2AA: document expired",
         ("check failed for", "document expired"), name="June Park", date="1990-06-15", postcode="SW1A 2AA"),
    case("api", "refund rejected: account 12345678 sort code 20-00-00 is closed", ("refund rejected", "is closed"),
         account=("12345678", "20-00-00")),
    case("api", "Twilio error 21211: The 'To' number +61 412 345 678 is not a valid phone number.",
         "is not a valid phone number", phone="+61 412 345 678"),
    case("api", "Stripe: No such customer: 'cus_P9xK2mL7qR4tZ1' (email will.short@hooli.example)",
         "no such customer", other="cus_P9xK2mL7qR4tZ1", email="will.short@hooli.example"),
    case("api", "order 77120934 failed: shipping address 221B Baker Street, London NW1 6XE rejected",
         ("failed", "rejected"), account="77120934", postcode="NW1 6XE", other=("221B", "Baker")),
    case("api", "PIN verification failed: PIN 7390 does not match (attempt 2 of 3)",
         ("verification failed", "does not match", "attempt 2 of 3"), pin="7390"),
    case("api", "card ending in 6011 was declined: insufficient funds", ("was declined", "insufficient funds"),
         card="6011"),
    case("api", "SMS to 07700 900982 failed: carrier rejected message (code 30007)",
         ("failed", "rejected message", "code 30007"), phone="07700 900982"),
    case("api", "payout blocked: IBAN BE71 0961 2345 6769 belongs to a restricted party", "blocked",
         iban="BE71 0961 2345 6769"),
    case("api", "The passport number X4839201 for May Field expired on 2023-08-31", "expired on",
         passport="X4839201", name="May Field"),
    case("api", "lookup failed for MAC 3c:22:fb:9a:41:07 on switch sw-floor2-globex", "lookup failed for",
         mac="3c:22:fb:9a:41:07", other="sw-floor2-globex"),
    case("api", "HTTP 409 Conflict: customer with phone 020 7946 0018 already exists (id 88213)",
         ("http 409 conflict", "already exists"), phone="020 7946 0018", account="88213"),
    case("api", "invalid phone number ٠٥٠١٢٣٤٥٦٧ (format E.164)", "invalid phone number", phone="٠٥٠١٢٣٤٥٦٧"),
    case("api", "SMS delivery failed for ۰۹۱۲۳۴۵۶۷۸۹: unreachable", ("delivery failed", "unreachable"),
         phone="۰۹۱۲۳۴۵۶۷۸۹"),
    case("api", "OTP could not be sent to ९८७६५४३२१० (quota exceeded)", ("could not be sent", "quota exceeded"),
         phone="९८७६५४३२१०"),
    case("api", "Test execution failed: 3 of 12 steps failed; step \"charge card 5200 8282 8282 8210\" returned "
         "status 402", ("test execution failed", "3 of 12 steps failed", "returned status 402"),
         card="5200 8282 8282 8210"),
    case("api", "customer lookup failed: member rose.field is not allowed to approve refunds",
         ("lookup failed", "is not allowed to"), user="rose.field"),
    case("api", "expected birth date 1984-02-29 but got 1984-03-01 for Max Long",
         "expected", date=("1984-02-29", "1984-03-01"), name="Max Long"),
    # --- secrets behind odd keys ---------------------------------------------------------------------
    case("secrets", 'env: PGPASSWORD=Blue-Heron-8812 psql: error: FATAL: database "ledger-eu" does not exist',
         "does not exist", secret="Blue-Heron-8812"),
    case("secrets", "config error: authtoken=Ym9iOnNlY3JldA missing scope 'repo'", "missing scope",
         secret="Ym9iOnNlY3JldA"),
    case("secrets", "Error: invalid flag value --passwrod=autumn-leaves-falling (did you mean --password?)",
         ("invalid flag value", "did you mean"), secret="autumn-leaves-falling"),
    case("secrets", "keytool error: java.io.IOException: Keystore was tampered with, or password was incorrect "
         "(storepass: changeit-2024)", ("keystore was tampered with", "password was incorrect"),
         secret="changeit-2024"),
    case("secrets", "ERROR: secert: 'hunter-two-three' has wrong length", "has wrong length",
         secret="hunter-two-three"),
    case("secrets", "ERROR: secert=open-source-rules has wrong length", "has wrong length",
         secret="open-source-rules"),
    case("secrets", "Error: invalid flag value --pasword=check-the-main-branch (did you mean --password?)",
         ("invalid flag value", "did you mean"), secret="check-the-main-branch"),
    case("secrets", "env: PGPASSWORD=main-branch-cache psql: error: connection to server failed",
         "connection to server failed", secret="main-branch-cache"),
    case("secrets", "mysqldump: MYSQL_PWD=default-admin-access rejected: access denied",
         ("rejected", "access denied"), secret="default-admin-access"),
    case("secrets", "auth failed: authtoken=ready-to-deploy is not a valid token", ("auth failed", "is not a valid token"),
         secret="ready-to-deploy"),
    case("secrets", "Fehler: Passwort: offen-und-sicher wurde abgelehnt", ("fehler", "wurde abgelehnt"),
         secret="offen-und-sicher"),
    case("secrets", "SSO error: tokn=session-expired-again refused", "refused", secret="session-expired-again"),
    case("secrets", "TOKN=ghx_notarealtoken_5f3kQ rejected by webhook", "rejected by webhook",
         secret="ghx_notarealtoken_5f3kQ"),
    case("secrets", "Login failed: PASSCODE=482913 not accepted", ("login failed", "not accepted"), pin="482913"),
    case("secrets", "Door controller: PASSCODE=5820 rejected after 3 attempts", ("rejected after 3 attempts",),
         pin="5820"),
    case("secrets", "ldap: bind failed for cn=Max Long,ou=staff,dc=initech,dc=example (userPassword=OpenSesame!99)",
         "bind failed for", name="Max Long", secret="OpenSesame!99", other="initech"),
    case("secrets", "pgbouncer: client_pwd='snowfall 44' rejected", "rejected", secret="snowfall 44"),
    case("secrets", "smtp: 535 5.7.8 Authentication credentials invalid (user=june.park@hooli.example, "
         "pass=Mango!Tree7)", "authentication credentials invalid", email="june.park@hooli.example",
         secret="Mango!Tree7"),
    case("secrets", "Error: Kennwort=Sommer2024! ist ungültig", "ist ungültig", secret="Sommer2024!"),
    case("secrets", "X-Auth-Tokn: 9b2c-77fe-d1a0 rejected (401)", ("rejected", "401"), secret="9b2c-77fe-d1a0"),
    case("secrets", 'DB_PASSWRD: "Crimson Tide 7" contains whitespace', "contains whitespace",
         secret="Crimson Tide 7"),
    case("secrets", "npm ERR! code E401 npm ERR! Unable to authenticate, your authentication token seems to be "
         "invalid. (//registry.initech.example/:_authToken=npm_Qx7Lm2Vb9Rt4Ks8Wd1Yc6Pn3Jh5Fg0Az)",
         ("unable to authenticate", "seems to be invalid"), secret="npm_Qx7Lm2Vb9Rt4Ks8Wd1Yc6Pn3Jh5Fg0Az"),
    case("secrets", "vault: permission denied (X-Vault-Tokn=hvs.CAESIJ7k2mQp9xLrT4vW)", "permission denied",
         secret="hvs.CAESIJ7k2mQp9xLrT4vW"),
    # --- CI, build tools, ssh ----------------------------------------------------------------------
    case("ci", "expected exit code 0, got 3: /home/will/.local/bin/testkube run test smoke-may-long",
         ("expected exit code 0", "got 3"), path="/home/will", user="may-long"),
    case("curl", "curl: (22) The requested URL returned error: 404 (https://status.initech.example/api/customers/"
         "0049-1761234567)", "returned error: 404", phone="0049-1761234567", host="status.initech.example"),
    case("jwt", "Error: failed to decode JWT: illegal base64 data at input byte 37 (token "
         "eyJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiTWF4IExvbmcifQ)", "illegal base64 data at input byte 37",
         secret="eyJuYW1lIjoiTWF4IExvbmcifQ"),
    case("ssh", "ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no "
         "supported methods remain (max@bastion.globex.example)", ("handshake failed", "unable to authenticate"),
         host="bastion.globex.example"),
    case("docker", 'OCI runtime exec failed: exec failed: unable to start container process: exec: '
         '"/scripts/rose_king_seed.sh": permission denied: unknown',
         ("unable to start container process", "permission denied"), user="rose_king"),
    case("pip", "ERROR: Could not find a version that satisfies the requirement initech-payroll-sdk==2.4.1 (from "
         "versions: none)", "could not find a version that satisfies the requirement", other="initech-payroll-sdk"),
    case("npm", "npm ERR! 404 Not Found - GET https://npm.globex.example/@globex%2fcustomer-portal - Not found",
         "404 not found", host="npm.globex.example"),
    case("ci", "Error: Process completed with exit code 137. (runner: gh-runner-june-park-03)",
         "process completed with exit code 137", user="june-park"),
    case("gradle", "Execution failed for task ':app:test'. > There were failing tests. See the report at: "
         "file:///home/maxlong/work/app/build/reports/tests/test/index.html",
         ("execution failed for task", "there were failing tests"), user="maxlong"),
    case("maven", "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.5:test "
         "(default-test) on project payroll-core: There are test failures. (settings: "
         "/Users/rose.hill/.m2/settings.xml)", ("failed to execute goal", "there are test failures"),
         user="rose.hill", other="payroll-core"),
    case("pytest", "FAILED tests/test_customers.py::test_create[+1-202-555-0147] - AssertionError: assert 409 == 201",
         ("assertionerror", "assert 409 == 201"), phone="+1-202-555-0147"),
    case("ci", "ERROR: Job failed: exit code 1 (pod runner-xk2m9q-project-4821-concurrent-0 on node "
         "will-short-laptop)", "job failed: exit code 1", user="will-short"),
    # --- long messages: the cause is at the end --------------------------------------------------------
    case("spring", 'org.springframework.web.client.ResourceAccessException: I/O error on POST request for '
         '"https://billing.initech.example/api/v1/invoices/customer/june.park": Connect to '
         "billing.initech.example:443 [billing.initech.example/10.44.2.18] failed: connect timed out; nested "
         "exception is org.apache.http.conn.ConnectTimeoutException: Connect to billing.initech.example:443 "
         "[billing.initech.example/10.44.2.18] failed: Connection refused",
         ("i/o error on post request", "connection refused"),
         host="billing.initech.example", ip="10.44.2.18", user="june.park"),
    case("python", "Traceback (most recent call last):\n  File \"/home/rose/venv/lib/python3.12/site-packages/"
         "urllib3/connectionpool.py\", line 793, in urlopen\n    response = self._make_request(\n  File "
         "\"/home/rose/venv/lib/python3.12/site-packages/urllib3/connection.py\", line 466, in getresponse\n"
         "    httplib_response = super().getresponse()\nConnectionResetError: [Errno 104] Connection reset by peer",
         ("traceback", "connection reset by peer"), path="/home/rose"),
    case("k6", "ERRO[0120] some thresholds have failed: http_req_failed{name:https://shop.initech.example/api/cart/"
         "june.park}: rate<0.01 ... checks: rate>0.99 ... iteration_duration: p(95)<2000 ... after 3 retries the "
         "test run was aborted: context deadline exceeded", ("some thresholds have failed",
                                                             "context deadline exceeded"),
         host="shop.initech.example", user="june.park"),
    # --- German ------------------------------------------------------------------------------------------
    case("de", "Fehler: Verbindung zu Server db.initech.internal:5432 fehlgeschlagen: Verbindung abgelehnt",
         ("fehlgeschlagen", "verbindung abgelehnt"), host="db.initech.internal"),
    case("de", "Datei /home/max/berichte/gehalt.csv konnte nicht geöffnet werden: Zugriff verweigert",
         ("konnte nicht", "zugriff verweigert"), path="/home/max"),
    case("de", "Benutzer will.short existiert nicht", ("benutzer", "existiert nicht"), user="will.short"),
    case("de", "Anmeldung fehlgeschlagen für Max Long (Telefon 0171 2345678): ungültiges Passwort",
         ("anmeldung fehlgeschlagen", "ungültiges passwort"), name="Max Long", phone="0171 2345678"),
    case("de", "Zeitüberschreitung beim Warten auf Antwort von https://api.hooli.example nach 30 Sekunden",
         ("zeitüberschreitung beim warten auf antwort", "nach 30 sekunden"), host="api.hooli.example"),
    case("de", "Die IBAN DE44 5001 0517 5407 3249 31 ist ungültig", "ist ungültig", iban="DE44 5001 0517 5407 3249 31"),
    # --- French ------------------------------------------------------------------------------------------
    case("fr", "Erreur : impossible de se connecter au serveur pg.globex.internal (connexion refusée)",
         ("impossible de se connecter au serveur", "connexion refusée"), host="pg.globex.internal"),
    case("fr", "Échec de l'authentification pour l'utilisateur « june.park » : mot de passe incorrect",
         ("échec de l'authentification", "mot de passe incorrect"), user="june.park"),
    case("fr", "Fichier introuvable : C:\\Users\\MaxLong\\Documents\\clients.xlsx", "fichier introuvable",
         user="MaxLong"),
    case("fr", "Le numéro de téléphone 06 12 34 56 78 n'est pas valide", ("numéro de téléphone", "n'est pas valide"),
         phone="06 12 34 56 78"),
    case("fr", "Délai d'attente dépassé lors de la connexion à 10.2.0.15:443", "délai d'attente dépassé",
         ip="10.2.0.15"),
    # --- Spanish -----------------------------------------------------------------------------------------
    case("es", "Error: no se pudo conectar al servidor redis.initech.internal:6379: conexión rechazada",
         ("no se pudo conectar al servidor", "conexión rechazada"), host="redis.initech.internal"),
    case("es", "Acceso denegado para el usuario 'may.long'@'10.1.1.4' (usando contraseña: SÍ)",
         "acceso denegado para el usuario", user="may.long", ip="10.1.1.4"),
    case("es", "El archivo /Users/rosa/pruebas/carga.js no existe", ("el archivo", "no existe"), path="/Users/rosa"),
    case("es", "Tarjeta 4000 0000 0000 0002 rechazada: fondos insuficientes", ("rechazada", "fondos insuficientes"),
         card="4000 0000 0000 0002"),
    case("es", "Tiempo de espera agotado tras 60 segundos esperando al pod checkout-june-5f7b",
         ("tiempo de espera agotado", "60 segundos"), user="checkout-june-5f7b"),
    # --- Portuguese --------------------------------------------------------------------------------------
    case("pt", "Erro: não foi possível conectar ao servidor mongo.hooli.internal:27017: conexão recusada",
         ("não foi possível conectar ao servidor", "conexão recusada"), host="mongo.hooli.internal"),
    case("pt", "Arquivo não encontrado: /home/joao.silva/testes/k6/carga.js", "arquivo não encontrado",
         user="joao.silva"),
    case("pt", "CPF 123.456.789-09 inválido para o cliente Max Long", "inválido para o",
         ssn="123.456.789-09", name="Max Long"),
    case("pt", "Tempo limite excedido ao aguardar resposta de 10.9.8.7 após 45 segundos",
         ("tempo limite excedido", "45 segundos"), ip="10.9.8.7"),
    # --- Japanese ----------------------------------------------------------------------------------------
    case("ja", "エラー: サーバー db.initech.internal に接続できません: 接続が拒否されました",
         ("エラー", "接続が拒否されました"), host="db.initech.internal"),
    case("ja", "ファイル /home/yamada/テスト/設定.yaml が見つかりません", ("ファイル", "が見つかりません"),
         path="/home/yamada"),
    case("ja", "ユーザー will.short の認証に失敗しました", ("ユーザー", "認証に失敗しました"), user="will.short"),
    case("ja", "電話番号 ０９０‐１２３４‐５６７８ は無効です", "は無効です", phone="０９０‐１２３４‐５６７８"),
    case("ja", "タイムアウト: 30秒以内に応答がありませんでした (ホスト api.hooli.example)",
         ("タイムアウト", "応答がありませんでした"), host="api.hooli.example"),
    # --- Chinese -----------------------------------------------------------------------------------------
    case("zh", "错误：无法连接到服务器 10.3.3.8:8080：连接被拒绝", ("无法连接到服务器", "连接被拒绝"), ip="10.3.3.8"),
    case("zh", "文件 /home/zhangwei/测试/脚本.js 不存在", ("文件", "不存在"), path="/home/zhangwei"),
    case("zh", "用户 max.long 认证失败：密码错误", ("认证失败", "密码错误"), user="max.long"),
    case("zh", "手机号 138 0013 8000 格式不正确", "格式不正确", phone="138 0013 8000"),
    case("zh", "请求超时：等待 https://api.initech.example 响应超过 30 秒", "请求超时", host="api.initech.example"),
]


# --- how a leak and usefulness are judged (shared by the tests and the figures) ------------------------

PLACEHOLDER = re.compile(r"<[a-z]+>")


def normalise(text: str) -> str:
    """NFKC, and every script's decimal digits as ASCII: a full-width or Arabic-Indic leak is still a leak."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in text)


def _whole(needle: str, text: str, flags: int = 0) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, flags) is not None


def leaked(planted: Planted, output: str) -> bool:
    """Whether a planted value, or a telling piece of it, survives in `output`.

    Compared after normalising both sides and taking the scrubber's own
    placeholders out: the value itself (anywhere if 3+ characters, else as a
    whole token, case-insensitively); each digit group of 3+ digits as a whole
    number; all its digits run together when there are 6 or more; and each
    part of a person's name as a whole, capitalised word.
    """
    out = PLACEHOLDER.sub(" ", normalise(output))
    value = normalise(planted.value)
    if len(value) >= 3 and value.casefold() in out.casefold():
        return True
    if len(value) < 3 and _whole(value, out, re.I):
        return True
    if any(_whole(group, out) for group in re.findall(r"\d{3,}", value)):
        return True
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6 and digits in re.sub(r"\D", "", out):
        return True
    if planted.kind == "name":
        return any(_whole(part, out) for part in re.split(r"[\s,.\-]+", value) if len(part) >= 2)
    return False


def useful(case: UntypedCase, output: str) -> bool:
    """Every shape phrase of the case survives (lowercase comparison)."""
    lowered = output.lower()
    return all(phrase in lowered for phrase in case.keeps)


def figures(outputs: list[str]) -> dict[str, tuple[int, int]]:
    """{group: (leaked, planted)} plus "useful messages": (useful, total), for outputs in corpus order."""
    found: dict[str, list[int]] = {}
    for item, output in zip(UNTYPED, outputs):
        for planted in item.planted:
            tally = found.setdefault(GROUPS[planted.kind], [0, 0])
            tally[0] += leaked(planted, output)
            tally[1] += 1
    total = [sum(t[0] for t in found.values()), sum(t[1] for t in found.values())]
    result = {group: (t[0], t[1]) for group, t in found.items()}
    result["all planted values"] = (total[0], total[1])
    result["useful messages"] = (sum(useful(c, o) for c, o in zip(UNTYPED, outputs)), len(UNTYPED))
    return result
