"""The words an error message may keep, and the contexts that decide the rest.

Pure data.  The scrubber keeps a word only if it is here (case-insensitively),
so this list is the privacy boundary: it holds no place names and no company or
product names beyond generic tools a CLI user meets (kubernetes, docker, git,
helm...).  Adding a word is a privacy decision: ask whether it could ever be
someone's name, a host, a team or a customer.  Error words that are also common
given names or surnames ("will", "max", "may", "long", "short", "key") are
listed again in NAMES_TOO: they survive only where they cannot be a name
(tests/test_untyped_errors.py audits the whole vocabulary against a list of
common names, so a new word that is a name must be listed there too).
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

again ago alphabetic appear apply approve approved assertion assertions attempted auto automatic await bearer
building calculate certification character characters checks codec compilation completed compute conditional
connectivity continuation crossed decode deeply detect double driver dubious duplicate early element elements
entity equal equality equals evaluating executing expectation expire exceed fetch fix foreign forward fulfilled
gone goto hint hung illegal implemented imported include included includes including information insert int
invalidated item items latest leading legal literal locator lowercase uppercase manifests media merge merged
metrics misdirected modified moved non ownership package pattern permanent policies position precondition
probe progress property properties reasons recent redirect registered relation rendered requirement resolve
restarting retrieve revision row rows satisfiable satisfies seen setup single src stack successfully switching
table tagged tampered target teapot tell threshold thresholds typeable uncaught undefined unexpectedly
unprocessable variant varying violate violated violates violation violations visit web webpack zero
abort aborted assert ascii attribute authentication base64 byte card cards checksum click config contenteditable
cy denies eai_again econnaborted ehostdown enetunreach err_connection_refused err_name_not_resolved expect
fill fixture fixtures hover incompatible intercept keystore keytool locked loop method methods mismatch network
newconnectionerror originated payment phone pkix policy press proxy publickey quoting refspec reject remain
replica screenshot selector should socket textarea token tokens unsupported waitfor wrongpass wrongtype
lower upper rfc author taken dup document documents holding page browser launch step steps mean seems goal refund
customer customers funds throttling java retried welcome took ending cvv cvc pin os join kb mb gb tb kib mib gib
tib

x-api-key api-key api_key read-only non-zero self-signed
"""

# Error words of the languages the tools' messages come in (German, French, Spanish, Portuguese).
FOREIGN = """
abgebrochen abgelaufen abgelehnt anfrage anmeldung antwort auf aufgelöst aufgetreten ausgabe beendet beim
benutzer berechtigung berechtigungen bereits datei dateien dem den der des dienst die eingabe ein eine einen
erforderlich erneut erstellen existiert fehler fehlerhaft fehlgeschlagen fehlt format gefunden geladen gelöscht
geöffnet gestartet gültig gültige konfiguration konnte können kein keine lesen mit nach nicht oder passwort pfad
prüfung schlüssel sekunden minuten stunden speicher ungültig ungültige ungültiger ungültiges unbekannt
unbekannte unbekannter unterbrochen verbindung verboten verfügbar verweigert verzeichnis von vorhanden warten
werden wert wurde wurden zeitlimit zeitüberschreitung zertifikat zugriff zulässig zu zum zur überschritten und für
ist im bei

accès attente aucun de impossible aucune au aux authentification autorisé caractère caractères certificat chemin
clé colonne connecter connexion dans délai dépassé déjà disponible données dossier droits du échec échoué erreur est et
existe expiré expirée fichier inattendu inattendue indisponible interdit interne introuvable invalide la le les
ligne lors manquant manquante moins mot ne nom numéro où ou par pas passe plus pour refusé refusée refusés
répertoire requête requis requise réponse résoudre se secondes serveur sont sur sans téléphone trop trouvé
trouvée une utilisateur utilisé utilisée valeur valide à été

acceso agotado al archivo carpeta clave columna conectar configuración conexión contraseña denegada denegado
desconocida desconocido del directorio disponible el encontrada encontrado encontró espera esperando está existe
falló fallida fallo falta fondos formato ha han inesperado insuficiente insuficientes inválida inválido las
línea los para permiso pudo puede pueden que rechazada rechazado requerida requerido respuesta ruta segundos
servicio servidor sido solicitud tarjeta tiempo tras usuario usando ya válido válida minutos

acesso aguardar ao tempo aos após arquivo caminho certificado chave com conexão conectar configuração diretório do
dos esgotado excedido falha falhou ficheiro foi indisponível inválida inválido já limite linha não negada negado
pasta permissão possível recusada recusado requisição resposta segundos senha serviço sem solicitação usuário
utilizador é
"""

# Japanese and Chinese error words.  These scripts write no spaces, so a run of
# them is cut into the longest words found here; whatever is left is a value.
# No single kanji (a surname is often one or two of them); particles are kana.
CJK = """
エラー サーバー サーバ ホスト ユーザー ユーザ ファイル ディレクトリ フォルダ パス タイムアウト アクセス
リクエスト レスポンス コード ステータス トークン パスワード サービス
接続 拒否 認証 失敗 無効 有効 応答 権限 不足 存在 設定 不正 形式 証明書 期限切れ 名前 解決 要求 読み込み
書き込み 一致 予期 内部 利用 中断 完了 終了 上限 超過 制限 待機 文字 不明 確認 再試行 電話番号 以内
できません できませんでした されました されています されていません しました しません しています でした
ありません ありませんでした 見つかりません 見つかりませんでした 開けません 間違っています 正しくありません
してください 超えました です ます ません ない が を に は の で と も へ から まで より な

错误 无法 连接 服务器 拒绝 文件 不存在 存在 用户 认证 失败 密码 格式 不正确 正确 请求 超时 等待 响应
超过 手机号 手机 号码 电话 权限 不足 访问 未找到 找不到 无效 已经 过期 证书 主机 名称 解析 配置 路径 目录
读取 写入 打开 内部 服务 不可用 未知 令牌 参数 缺少 必须 非法 字符 超出 限制 重试 中断 完成 成功 执行 运行
测试 数据库 网络 到 被 不 的 了 在 是 已 次
"""

# Vocabulary words that are also common given names or surnames (US census and
# the usual European lists).  Each stays useful ("will be", "too long", "max
# retries") but is dropped where it reads as a name: next to another capitalised
# name-like word ("Will Short", "Max, Long"), right after a word that introduces a
# person or account ("user", "by", "owner", "welcome", ...), or as one of two such
# parts of a compound ("will.short", "max_long", "MayField").
NAMES_TOO = """
al back blank block branch call card case child click close cloud day del dial do driver early else field fields
free ha han helm hook hooks hung job key keys large le les lock long low main manual max may mount new newman null
numbers page peer pointer pool post read root sans see self sem short small stack still true von will word
"""
# ... and the subset that are given names: an ALL-CAPS pair is a name only with one of these in it.
FIRST_NAMES_TOO = "al del else hung job les long manual max may numbers peer sem von will"

# Words after which a name-like word is a person or an account.
NAME_INTRODUCERS = """
user username users login account owner uid member principal by author assignee reviewer approver contact dear
hi hello welcome mr mrs ms dr customer applicant patient employee holder cardholder named called signed
benutzer utilisateur usuario usuário utilizador ユーザー ユーザ 用户
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
passcode passkey pswd psw pword pin otp totp mfa cvv cvc cvv2 cvc2 csc ssn creds cred dsn salt privkey
oauth xauth storepass keypass sid
passwort kennwort passe motdepasse contraseña contrasena senha parola wachtwoord hasło haslo lösenord salasana
パスワード 暗証番号 トークン 密码 密碼 口令 令牌 비밀번호
"""
# ... and stems that make any key holding them sensitive (PGPASSWORD, authtoken, clientSecret) ...
SENSITIVE_STEMS = "passw passc passphr pwd secret token apikey privatekey accesskey secretkey credential cookie bearer"
# ... and, within an edit or two (OSA distance: 1 up to 7 letters, 2 from 8), the misspellings of these
# (passwrod, pasword, secert, tokn); a word of the vocabulary is never taken for a misspelling (passed, version).
FUZZY_STEMS = "password passwd passcode passphrase secret token credential credentials cookie bearer signature passwort"
# A key ending in "pass" is a secret's (dbpass, storepass), unless it is one of these words.
NOT_PASS = "bypass compass surpass overpass underpass trespass encompass"

# Words after which an unknown word names a user, or a machine.
USER_KEYS = "user username login account owner uid member principal benutzer utilisateur usuario usuário ユーザー 用户"
HOST_KEYS = "host hostname server node endpoint machine serveur servidor hôte サーバー ホスト 服务器 主机"

# --- numbers --------------------------------------------------------------------------------
# A number is kept only when it tells the error's shape: a count of at most two
# digits, or a number whose context says what it is.  The nearest word before it
# (numbers skipped) may allow it, up to so many digits:
NUMBER_BEFORE = {
    5: "port ports status code codes http https error err errno exit returned return response statuscode sqlstate "
       "occurred exited signal ora",
    6: "line lines column col char position pos offset row byte bytes",
    4: "attempt attempts retry retries after timeout within limit max maximum min minimum least most than size length "
       "len count total took waited step steps batch level depth replicas workers threads version ver v "
       "rfc nach après tras após 超过 超时 以内",
    3: "expected got but assert",
}
# ... or the word right after it says it is a measure (up to 6 digits) or a count (fewer):
NUMBER_AFTER = {
    6: "ms s sec secs second seconds minute minutes min mins h hour hours d day days b bytes kb mb gb tb kib mib gib "
       "tib percent sekunden minuten stunden secondes segundos minutos 秒 分 時間 毫秒 分钟 字节",
    4: "nodes node pods pod replicas retries attempts times items tests test steps errors warnings failures lines "
       "characters chars files containers requests rows records documents elements arguments args fields columns "
       "objects resources connections workers threads cpus cores iterations vus checks 回 個 件 行 列 文字 次 个 条",
    3: "passed failed skipped of more",
}
# Words before dotted digits that make them a version even when they read as a date (kubernetes 1.29.10):
VERSION_WORDS = """
version ver v release tag python node nodejs java go golang kubectl kubernetes helm k6 docker npm pip chart image
cli server client sdk runtime plugin testkube
"""
# ... or, for 100-599, the words after it are an HTTP status phrase ("404 Not Found", "403: Forbidden"):
STATUS_STARTS = """
ok created accepted non no reset partial multi already im multiple moved found see not use temporary permanent
bad unauthorized payment forbidden method proxy request conflict gone length precondition payload content uri
unsupported range expectation misdirected unprocessable locked failed too upgrade unavailable internal gateway
service http variant insufficient loop network client server continue switching processing early
"""
# But never after these (the two words before it): a card, a PIN, a phone, a postcode, a birth date.
NUMBER_DENY = """
card cards cc ccn pan last4 cvv cvv2 cvc cvc2 csc pin pins ending expiry exp expiration expires thru ssn sin
social security tin nif cpf nino phone telephone tel mobile cell fax sms whatsapp zip zipcode postal postcode
plz iban bic swift account acct sort routing aba birth birthday born dob passport licence license verification
otp mfa passcode password pwd secret customer patient member
telefon handy karte kreditkarte konto geburtsdatum geboren postleitzahl téléphone carte compte naissance né née
teléfono tarjeta cuenta nacimiento telefone cartão conta nascimento cep
電話 電話番号 携帯 口座 郵便番号 电话 手机 手机号 电话号码 卡号 银行卡 身份证 邮编
"""

# Words after "Bearer"/"Basic" that are prose, not a credential.
SCHEME_WORDS = "token auth authentication authorization realm scheme credentials header is was not"

# A dotted name ending so is a file, not a host.
EXTENSIONS = """
yaml yml json toml js mjs ts py go sh bash ps1 bat cmd exe dll jar war txt log conf cfg ini env xml csv sql
zip tar gz tgz pem key crt cer md html lock tf tfvars properties gradle kts proto har jmx feature sock
"""

# A dotted name ending so is a host even when its other labels are ordinary words
# (unless it is called, like `x.to(`: code).
HOST_SUFFIXES = """
com net org io dev app local internal lan corp cluster svc localdomain home arpa cloud ai co uk de eu us
info biz me tech site online xyz consul in to be it nl fr ch at se no es pl cz ru cn jp au ca br gov edu
example localhost intranet private mil int ie gr pt dk fi hu ro sk si hr bg lt lv ee lu li is za mx ar cl pe
kr tw hk sg my id ph th vn nz il tr ua by kz
"""
