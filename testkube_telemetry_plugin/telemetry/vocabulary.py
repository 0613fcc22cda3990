"""The words an error message may keep: common English and error-message words.

Pure data.  The scrubber keeps a word only if it is here (case-insensitively),
so this list is the privacy boundary: it holds no personal names, no place
names and no company or product names beyond generic tools a CLI user meets
(kubernetes, docker, git, helm...).  Adding a word is a privacy decision:
ask whether it could ever be someone's name, a host, a team or a customer.
"""

WORDS = """
a about above absent accept accepted access account accounts action actions active add added adding address
addresses admin admission after again against agent all allocate allocated allocation allow allowed allows
already also alternative always am an and annotation annotations another any anything api apis apiversion app
application applications apply apps are argument arguments array artifact artifacts as asked assert assertion
assume assumed at attach attached attempt attempted attempts attribute attributes auth authenticate
authenticated authenticating authentication authority authorization authorize authorized available await
awaiting back backend backoff backup bad base base64 based basic be because been before begin being between
binary bind block blocked body boolean both bound branch branches break broken bucket buckets buffer build built
but by bytes cache cached call called caller calling can can't cancel canceled cannot capacity case cause caused
certificate certificates chain change changed changes char character characters chart charts check checked
checking checkout checksum child chunk cidr cleanup clear cli client clients clone closed closing cluster
clusters code codes collection column columns command commands commit commits complete completed condition
config configmap configmaps configuration configure configured conflict conflicts connect connected connecting
connection connections consider consist console constraint contain container containers contains content context
contexts continue control controller conversion convert converting cookie cookies copy correct corrupt corrupted
could couldn't count create created creating credential credentials critical cron cronjob current currently
custom daemon data database date day days deadline deadlock debug declined decode decoding default defined
delete deleted deleting delimiter delivery denied dependencies dependency deploy deployed deployment deployments
deprecated desc describe description details detected did didn't different digest directory disabled disk dns do
docker dockerfile does doesn't domain don't down download due duplicate during each ecr eks else empty enable
enabled encode encoded encoding end endpoint endpoints enotfound entry env environment eof err errno erro error
errors establish established event events exceed exceeded exceeds exception exceptions exec executable execute
executed execution executions executor executors exist existing exists exit expect expected expecting expire
expired expires export extension external extra fail failed failing fails failure failures false fatal feature
fetch field fields file files filter find finished first flag flags folder following for forbidden force format
found free from full gateway get getaddrinfo getting git given go goerror got group groups had handler handshake
has hash hasn't have haven't header headers health healthy help here hook hooks host hostname hostnames hosts
hour hours http http2 https i i/o id identifier identity if image images immutable in incoming incompatible
incorrect index info ingress init initialize initialized input insecure install installation installed instance
instead insufficient integer interface internal interrupted into invalid ip is isn't issuer it it's its job jobs
json jwt k6 keep key keys kill killed kind known kubeconfig kubectl kubernetes label labels last layer least
left length less level like limit limited limits line lines list load loaded loading local locate location lock
locked log logged login logs long lookup lost main malformed managed manifest manifests many map mapping match
matched matches matching max maximum may member memory message messages metadata method metric metrics might min
minimum minio minute minutes misbehaving missing mode module mongodb more most mount mounted multiple must name
named names namespace namespaces nats need needed needs negative net network never new next no node nodes non
none not nothing notification null number numbers object objects occurred of off ok on once one only oomkilled
open opened operation operations option optional options or org organization other our out output over overlaps
override owner panic parameter parameters parse parsed parser parsing part partial pass passed password
passwords patch path paths payload peer pending per perform permanently permission permissions permitted pipe
pipeline plain please plugin pod pods point pointer policy pool port ports post postman pre prefix prefixes
present private probe problem process processing project projects prompt prompts protocol provide provided
provider proxy public pull pulled pulling push pushed put query queue quota quotas range rate reached read
readiness reading ready reason receive received records ref reference refs refused region registry reject
rejected release released releases remote remove removed rename replica replicas report reports repository
request requested requests require required requires reset resolve resolved resolving resource resources
response rest restart restarted restricted result results retries retry retrying return returned returns reuse
role roles rollback root route rule rules run runner running runs runtime same scheduled schema scope scopes
script scripts second seconds secret secrets secure security see selector self send sent server servers service
services session set setting settings short should show signal signature signed size skip skipped socket some
something source spec specified specify ssh ssl start started starting state status stderr stdin stdout still
stop stopped storage string strings struct structure subdomain subject subscription succeeded success successful
such suite suites support supported svc syntax system tab take target task tcp template templates temporary
terminal terminated test testkube tests text than that the their them then there these they this those through
time timed timeout timeouts timestamp tls to token tokens too toomanyrequests tried trigger triggers true
truncated try trying type types udp unable unauthenticated unauthorized under unexpected unhealthy unix unknown
unmarshal unreachable unrecognized unsupported until unused up update updated updating upgrade upload uploaded
uri url usage use used user username users uses using utf8 v1 v2 v3 valid validate validating validation value
values var variable variables verification verified verify version versions via volume volumes wait waiting want
warning was wasn't we webhook were weren't what when where which while will with without won't worker workflow
workflows would write writing written wrong x509 yaml yes yet you your

alphanumeric amd64 arg args arm64 asn1 async aws background balancer bearer beta binding boot bundle capability
cipher cloud cmd compose compression concurrency concurrent configs consumer crashloopbackoff cronjobs curl
cypress daemonset datasource db decrypt deny dependent deserialize destroy detach dial dir disconnected
discovery draining dump dynamic e2e eacces econnrefused econnreset ed25519 egress ehostunreach elapsed email
encrypt encrypted engine enoent entrypoint epipe errimagepull etimedout evicted existent fallback filesystem
finalizer firewall gcloud gcp gke gradle grpc handle helm html iam idle ignore imagepullbackoff inbound initiate
inline integration invoke ipv4 ipv6 java jmeter junit kube kubelet latency lease liveness localhost logging
logout looks mail maven mismatch mkdir mongo ms mtls mysql newman nil npm oauth oauth2 oci oidc oom outbound
overloaded parallel partition pathspec pem persistent playwright postgres processed production psql publickey
pvc pw pytest python queued re reachable readonly rebase redis refresh regex replicaset repo resolver restarts
revoked rpc rsa s3 sandbox schedule scheduler sdk sha sha256 shutdown sidecar sigkill sigterm snapshot solve
staging statefulset sts subnet sudo suspended sync syscall taint teardown telemetry terminating testing
testsuite throttled toml traceback transient ttl uid unavailable unbound uncaught uninstall unpack unschedulable
unset upstream utf-8 uuid verbose vpn warn websocket whitespace wildcard zip

absolute appears assigned e.g i.e blank bug busy caught close crash crashed dead drop dropped either enough exactly
example fault final fixed global half handled how incomplete inconsistent kept large later leave legacy longer
low manual mixed my nested newline normal numeric offset old original otherwise outside own pair past percent
proper properly quoted random raw reach recognized relative remaining replace reserved right rollout safe
separate setup shared shown simple since small so stale standard stuck sure unique unit unless unreadable unsafe
whether who whole why word words work working
"""

# Words joined by "/" that name one thing; any other slashed token is a path.
SLASHED = """
i/o n/a tcp/ip key/value read/write and/or application/json application/yaml text/plain text/html
http/1.1 http/2 client/server input/output
"""

# Parts of a key name whose value is a secret: DB_PASSWORD, x-api-key, refreshToken.
SENSITIVE = """
password passwords passwd pwd pw pass passphrase secret secrets token tokens apikey auth authorization
credential credentials cookie cookies session sessionid signature sig bearer privatekey accesskey
"""

# Words after which an unknown word names a user, or a machine.
USER_KEYS = "user username login account owner uid member principal"
HOST_KEYS = "host hostname server node endpoint machine"

# Words after "Bearer"/"Basic" that are prose, not a credential.
SCHEME_WORDS = "token auth authentication authorization realm scheme credentials header is was not"

# A dotted name ending so is a file, not a host.
EXTENSIONS = """
yaml yml json toml js mjs ts py go sh bash ps1 bat cmd exe dll jar war txt log conf cfg ini env xml csv sql
zip tar gz tgz pem key crt cer md html lock tf tfvars properties gradle kts proto har jmx feature sock
"""

# A dotted name ending so is a host even when its other labels are ordinary words.
HOST_SUFFIXES = """
com net org io dev app local internal lan corp cluster svc localdomain home arpa cloud ai co uk de eu us
info biz me tech site online xyz consul in to be it nl fr ch at se no es pl cz ru cn jp au ca br gov edu
"""
