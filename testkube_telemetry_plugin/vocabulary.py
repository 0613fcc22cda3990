"""The words an error message may keep: common English and error-message words.

Pure data.  The scrubber keeps a word only if it is here (case-insensitively),
so this list is the privacy boundary: it holds no personal names, no place
names and no company or product names beyond generic tools a CLI user meets
(kubernetes, docker, git, helm...).  Adding a word is a privacy decision:
ask whether it could ever be someone's name, a host, a team or a customer.
"""

WORDS = """
a about above absent accept accepted access accessible according account accounts across action actions
active actual add added adding additional address addresses admin admission after again against agent
ago alias all allocate allocated allocation allow allowed allows already also alternative always am
ambiguous among an and annotation annotations another any anything api apis apiversion app application
applications apply applying apps are argument arguments array artifact artifacts as ask asked assert
assertion assume assumed at attach attached attempt attempted attempts attribute attributes auth
authenticate authenticated authenticating authentication author authority authorization authorize
authorized auto automatic available await awaiting away back backend backoff backup bad bandwidth base
base64 based basic be because been before begin beginning behind being below best between binary bind
block blocked body boolean both bound branch branches break broken browser bucket buckets buffer build
builds built but by bytes cache cached call called caller calling calls can can't cancel canceled
cancelled cannot capacity case cause caused certificate certificates chain change changed changes
channel char character characters chart charts check checked checking checksum checkout child choose
chunk cidr class clean cleanup clear cli client clients clone closed closing cluster clusters code
codes collection column columns command commands comment commit commits common compatible complete
completed component condition config configmap configmaps configuration configure configured conflict
conflicts connect connected connecting connection connections consider consist console constraint
contain container containers contains content context contexts continue control controller conversion
convert converting cookie cookies copy core correct corrupt corrupted could couldn't count create
created creating credential credentials critical cron cronjob csv current currently custom daemon data
database date day days deadline deadlock debug declined decode decoding default defined definition
delay delete deleted deleting delimiter delivery denied dependency dependencies deploy deployed
deployment deployments deprecated desc describe description destination detail details detected
device did didn't different digest directory disabled disk display dns do docker dockerfile does
doesn't domain don't done down download downloading driver due duplicate during each ecr edit eks
else empty enable enabled encode encoded encoding end endpoint endpoints enotfound entry env
environment eof equal err errno erro error errors establish established even event events exceed
exceeded exceeds exception exceptions exec executable execute executed execution executions executor
executors exist existing exists exit expect expected expecting expects expiration expire expired
expires expiry explicit export exposed expression extension external extra fail failed failing fails
failure failures false fatal feature fetch fetching field fields file files filter find finished
first flag flags float folder following for forbidden force format forward found free from full
function gateway generate generated get getaddrinfo getting git given go goerror got group groups
had handler handshake has hash hasn't have haven't header headers health healthy help here hidden
hook hooks host hostname hostnames hosts hour hours http http2 https i i/o id identifier identity if
ignored image images immutable in include included incoming incompatible incorrect index info
information ingress init initial initialize initialized input insecure install installation installed
instance instead insufficient integer interface internal interrupted interval into invalid is isn't
issue issued issuer it it's item items its job jobs json jwt k6 keep key keys kill killed kind
known kubeconfig kubectl kubernetes label labels language last latest layer leader left length less
level library like limit limited limits line lines link list listen listing load loaded loading
local locate location lock locked log logged login logs long lookup loop lost made main malformed
managed manifest manifests many map mapping match matched matches matching max maximum may media
member memory merge message messages metadata method metric metrics might migration min minimum
minio minute minutes misbehaving missing mode modified module mongodb more most mount mounted move
much multiple must name named names namespace namespaces nats need needed needs negative net network
never new next no node nodes non none not note nothing notification null number numbers object
objects occurred of off offline ok on once one only oomkilled open opened operation operations
option optional options or order org organization other our out output over overflow overlaps
override owner package page panic parameter parameters parent parse parsed parser parsing part
partial pass passed password passwords patch path paths pattern payload peer pending per perform
permanently permission permissions permitted phase ping pipe pipeline plain please plugin pod pods
point pointer policy pool port ports position possible post postman pre prefix prefixes present
preview previous private probe problem process processing produced profile project projects prompt
prompts property protocol provide provided provider proxy public pull pulled pulling push pushed
put query queue quota quotas range rate reached read readiness reading ready reason receive received
recent record records recursive redirect ref reference refs refused region registry reject rejected
release released releases reload remote remove removed rename replica replicas report reports
repository request requested requests require required requires reset resolve resolved resolving
resource resources response rest restart restarted restricted result results retries retry retrying
return returned returns reuse revision role roles rollback root route rule rules run runner running
runs runtime same save saved scheduled schema scope scopes script scripts search second seconds
secret secrets section secure security see selector self send sent server servers service services
session set setting settings shell short should show signal signature signed single size skip
skipped slow socket some something source space spec specified specify ssh ssl stack stage start
started starting state status stderr stdin stdout step still stop stopped storage store stream strict
string strings struct structure subject subdomain subscription succeeded success successful such
suite suites support supported svc syntax system tab table tag tags take target task tcp template
templates temporary terminal terminated test testkube tests text than that the their them then there
these they this those thread threshold through time timed timeout timeouts timestamp tls to token
tokens too toomanyrequests total trace transport tried trigger triggers true truncated trust trusted
try trying type types udp unable unauthenticated unauthorized undefined under unexpected unhealthy
unix unknown unmarshal unreachable unrecognized unsupported until unused up update updated updating
upgrade upload uploaded uri url usage use used user username users uses using utf8 v1 v2 v3 valid
validate validating validation value values var variable variables verification verify verified
version versions via view volume volumes wait waiting want warning was wasn't watch we webhook well
were weren't what when where which while will with within without won't worker workflow workflows
would write writing written wrong x509 yaml yes yet you your

accepted addressed advise already alternative apk applied approved archive arch arm64 amd64 asn1 async
attempting available aws azure background balancer bearer before beta binding bindings boot bucket
bundle bypass calculated capability carriage certificate chunked cipher circuit cleaned client closed
cloud cmd compose compression concurrency concurrent config configs connect consumer containerd
content crashloopbackoff cronjobs cuda curl cypress daemonset daemonsets database datasource dec
decrypt decrypted deny dependent deserialize destroy detach dir disconnected discovery distribution
domain draining dump dynamic ecdsa ed25519 egress elapsed element email encrypt encrypted engine
entrypoint enum errimagepull evicted evict exceeding expect fallback fetch filesystem finalizer
firewall flaky framework gcloud gcp get gke github gitlab gradle graphql grpc gzip handle hash header
helm hostpath hpa html http/1.1 http/2 https iam idle ignore imagepullbackoff inbound inline
integration interrupt invoke ipv4 ipv6 java javascript jest jmeter jobs jsonpath junit kernel keyring
kube kubelet latency launch lease lifecycle liveness localhost locked logging logout lowercase maven
mismatch mock monitor mtls multipart mutex newman nginx nil node npm oauth oauth2 oci oidc oom
outbound overloaded parallel partition pem persistent pipeline playwright pnpm podman policy
postgres postgresql prerequisite privileged probe processed production prometheus protobuf proxy
pvc pytest python queued quorum ratelimit readonly rebase recreate redis refresh regex replicaset
replicasets repo resolver restarts revoked rfc rpc rsa s3 saml sandbox scheduler schedule sdk
semver serialize serviceaccount sha sha1 sha256 shutdown sidecar sigkill sigterm sleep snapshot
soap socks ssl staging stateful statefulset statefulsets sts subnet sudo suspended swap sync
syscall taint taints tcp/ip teardown telemetry terminating testing testsuite testsuites throttled
tolerations traceback transient trusted ttl typescript uid unavailable unbound uncaught undefined
uninstall unpack unschedulable unset upstream uppercase upsert uuid v1beta1 vcs vendor verbose
virtual vpn wait warn websocket whitespace wildcard yarn zip
dial solve looks initiate publickey reachable alphanumeric ms psql mysql toml mkdir eacces enoent econnrefused
econnreset etimedout ehostunreach epipe mongo arg args pathspec pw utf-8 e2e re existent unreachable

able absolute accepts actually addition advanced affected again agree aligned allowance alone along
altered among amount any anyway appear appears approach appropriate area around arrived artificial
assigned associated attempting automatically avoid aware backwards balance because become becomes
begin believe belong belongs beyond big blank bottom boundary box brief bring broad bug bugs busy
button calculated careful carry cases category caught center certain chance character cheap choice
chosen circular claim clearly close closer collect combined come comes coming commonly compare
compared completely complex condition confirm confused consecutive considered consistent constant
contact contained continuing contract correctly corresponding cost cover covered crash crashed
cycle damaged dangerous dead decided decimal deep define delayed delimited deliver demand depend
depends depth design desired destroyed determine develop development direct direction directly
disallowed discard discarded distinct divide division document documents double drop dropped easy
effect either elsewhere emit emitted enough ensure enter entered entire equals especially exact
exactly example examples except exclusive expand explain express extend extended fact far fast
faster fault faulty feed fewer fill filled final finally fine finish fit fixed flow follow follows
forever form found fourth fragment frequency front further future general generic give gives global
good greater guard half hand handled happen happened hard has hello high higher hold home hosted
however human idea identical immediately important improve incomplete inconsistent increase
indicate individual infinite inner instead intended interactive interrupted invalidated isolated
it join kept kind large larger later least leave leaving legacy less lifetime light limitations
little live longer lookup low lower machine manual manually meaning means measure mechanism
meet mentioned might mixed modify moment month more moved multiline narrow native nearly necessary
nested network newer newline nobody normal normally now numeric obsolete obtain obvious odd offset
old older omitted onto open opposite original otherwise outside own pair paired paragraph
parallel particular past pause paused percent perhaps period permanent pick piece place planned
plural possible potential prepare prepared preserve prevent previously primary prior probably
proceed progress proper properly purpose quick quickly quiet quote quoted raise raised random
rather raw reach real really reason receive recognised recognized recommended reduce refer regular
rejected relative remaining remember repeat repeated replace replaced represent reserved respond
responding restore retained reverse right rollout round safe satisfy scan seem seems select
separate sequence serious setup several shared shorter shown side similar simple simply since
size small soft sorry sort special speed split standard stale statement stay strange structured
stuck submit subsequent sufficient suggest sum supply sure surface suspicious take taken taking
tell temporarily term third thus tight together top track treat true turn twice unclear under
understand unique unit unless unlike unlikely unmatched unreadable unsafe unset unsure upper
useful usual usually variant various verify vertical visible wanted way weak whether whole
why wide width window wish word words work worked working works worse zero
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
