#!/usr/bin/env bats
# The local control plane's API server (tests/fakes/kube) at the protocol
# level, with curl: the REST semantics the wlkit programs rely on and that a
# fake could easily get wrong. `run api ...` gives the HTTP status as line 0
# and the JSON body (one line) as line 1.

bats_require_minimum_version 1.5.0
load fakes/kube/bats-helpers

setup_file() {
	export D="$BATS_FILE_TMPDIR/kube"
	export WLKIT_FAKE_BOOKMARK_SECONDS=0.4
	fake_up "$D"
	api POST /api/v1/namespaces '{"metadata":{"name":"t"}}' >/dev/null
}

teardown_file() {
	fake_down "$D"
}

CM=/api/v1/namespaces/t/configmaps

cm() {	# cm NAME [LABELS-JSON [METADATA-MEMBERS]]: a ConfigMap body
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","labels":%s%s}}' \
		"$1" "${2:-{\}}" "${3:+,$3}"
}

# stream FILE PATH: a watch into FILE until the server ends it.
stream() {
	curl -sSN --max-time 10 --cacert "$D/ca.crt" \
		-H "Authorization: Bearer $FAKE_TOKEN" "$FAKE_URL$2" >"$1"
}

@test "authentication: unknown token 401, no token anonymous, admin endpoints admin only" {
	TOKEN=not-a-token run api GET /api/v1/namespaces
	assert_line --index 0 401
	assert_line --index 1 --partial '"message": "Unauthorized", "reason": "Unauthorized"'
	TOKEN=none run api GET /api/v1/namespaces
	assert_line --index 0 403
	assert_line --index 1 --partial '"message": "namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"'
	TOKEN=none run api GET /readyz
	assert_output $'200\nok'
	TOKEN=none run api GET /_wlkit/requests
	assert_line --index 0 403
}

@test "discovery: groups, resources, and aggregated discovery declined" {
	run api GET /apis '' '' -H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'
	assert_line --index 0 200
	assert_line --index 1 --regexp '^\{"kind": "APIGroupList", .*"name": "batch", .*"name": "jobset.x-k8s.io", .*"name": "kueue.x-k8s.io"'
	run api GET /apis/batch/v1
	assert_line --index 1 --partial '{"name": "jobs/status", "singularName": "", "namespaced": true, "kind": "Job", "verbs": ["get", "patch", "update"]}'
	run api GET /api/v1
	assert_line --index 1 --partial '{"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"]}'
	assert_line --index 1 --partial '{"name": "serviceaccounts/token", "singularName": "", "namespaced": true, "kind": "TokenRequest", "verbs": ["create"], "group": "authentication.k8s.io", "version": "v1"}'
	run api GET /version
	assert_line --index 1 --partial '"major": "1", "minor": "32"'
}

@test "create assigns uid, resourceVersion, creationTimestamp and a generated name" {
	run api POST $CM '{"metadata":{"generateName":"gen-"},"data":{"a":"1"}}'
	assert_line --index 0 201
	run body 'o["apiVersion"], o["kind"], o["metadata"]["namespace"], o["metadata"]["name"][:4], len(o["metadata"]["name"]), [k for k in ("uid", "resourceVersion", "creationTimestamp") if o["metadata"].get(k)]'
	assert_output '["v1", "ConfigMap", "t", "gen-", 9, ["uid", "resourceVersion", "creationTimestamp"]]'
}

@test "a stale resourceVersion gets 409 Conflict" {
	run api POST $CM "$(cm occ)"
	old=$(body 'o["metadata"]["resourceVersion"]')
	run api PUT $CM/occ "$(cm occ '{"v":"1"}' "\"resourceVersion\":\"$old\"")"
	assert_line --index 0 200
	assert_line --index 1 --partial '"labels": {"v": "1"}'
	run api PUT $CM/occ "$(cm occ '{}' "\"resourceVersion\":\"$old\"")"
	assert_line --index 0 409
	assert_line --index 1 --partial '"message": "Operation cannot be fulfilled on configmaps \"occ\": the object has been modified; please apply your changes to the latest version and try again", "reason": "Conflict"'
	run api PATCH $CM/occ "{\"metadata\":{\"resourceVersion\":\"$old\"}}" application/merge-patch+json
	assert_line --index 0 409
}

@test "AlreadyExists, NotFound, Invalid names, missing namespaces, mismatched kinds" {
	api POST $CM "$(cm dup)" >/dev/null
	run api POST $CM "$(cm dup)"
	assert_line --index 0 409
	assert_line --index 1 --partial '"message": "configmaps \"dup\" already exists", "reason": "AlreadyExists"'
	run api GET /apis/batch/v1/namespaces/t/jobs/nope
	assert_line --index 0 404
	assert_line --index 1 --partial '"message": "jobs.batch \"nope\" not found", "reason": "NotFound", "code": 404, "details": {"name": "nope", "group": "batch", "kind": "jobs"}'
	run api POST $CM "$(cm Bad_Name)"
	assert_line --index 0 422
	assert_line --index 1 --partial '"message": "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of'
	assert_line --index 1 --partial '"field": "metadata.name"'
	run api POST /api/v1/namespaces/missing/configmaps "$(cm x)"
	assert_line --index 0 404
	assert_line --index 1 --partial '"message": "namespaces \"missing\" not found"'
	run api POST $CM '{"apiVersion":"batch/v1","kind":"ConfigMap","metadata":{"name":"k"}}'
	assert_line --index 0 400
	assert_line --index 1 --partial '"message": "the API version in the data (batch/v1) does not match the expected API version (v1)"'
}

@test "label and field selectors" {
	api POST $CM "$(cm sel-a '{"app":"x","tier":"web"}')" >/dev/null
	api POST $CM "$(cm sel-b '{"app":"x","tier":"db"}')" >/dev/null
	api POST $CM "$(cm sel-c '{"app":"y"}')" >/dev/null
	api POST /api/v1/namespaces/t/pods '{"metadata":{"name":"sel-pod"},"spec":{"nodeName":"n9","containers":[{"name":"c","image":"i"}]}}' >/dev/null
	names() {
		api GET "$1" | tail -1 | grep -o '"name": "sel-[a-z]*"' | cut -d'"' -f4 | xargs
	}
	run names "$CM?labelSelector=app%3Dx"
	assert_output 'sel-a sel-b'
	run names "$CM?labelSelector=app%20in%20(x,y),tier!%3Dweb"
	assert_output 'sel-b sel-c'
	run names "$CM?labelSelector=app,!tier"
	assert_output 'sel-c'
	run names "$CM?labelSelector=app%3Dx&fieldSelector=metadata.name!%3Dsel-a"
	assert_output 'sel-b'
	run names '/api/v1/pods?fieldSelector=spec.nodeName%3Dn9,status.phase%3DPending'
	assert_output 'sel-pod'
	run api GET '/api/v1/pods?labelSelector=%3D%3D'
	assert_line --index 0 400
}

@test "limit and continue page through a list; an expired continue is 410" {
	for i in 1 2 3 4 5; do api POST $CM "$(cm page-$i '{"page":"y"}')" >/dev/null; done
	page() {	# page [CONTINUE]: names on the page, then the next token
		api GET "$CM?labelSelector=page&limit=2${1:+&continue=$1}" >/dev/null
		body '" ".join(i["metadata"]["name"] for i in o["items"]) + "|" + o["metadata"].get("continue", "")'
	}
	run page
	assert_output --regexp '^page-1 page-2\|.'
	run page "${output#*|}"
	assert_output --regexp '^page-3 page-4\|.'
	run page "${output#*|}"
	assert_output 'page-5|'
	run api GET "$CM?limit=1"
	assert_line --index 1 --regexp '"remainingItemCount": [0-9]+'
	cont=$(body 'o["metadata"]["continue"]')
	# A write, then the history is compacted past the list's version.
	api POST $CM "$(cm page-6)" >/dev/null
	api POST /_wlkit/compact >/dev/null
	run api GET "$CM?limit=1&continue=$cont"
	assert_line --index 0 410
	assert_line --index 1 --partial '"reason": "Expired"'
}

@test "watch: initial ADDED events, changes after a version, selectors, timeoutSeconds" {
	run api POST $CM "$(cm w-old '{"w":"1"}')"
	rv=$(body 'o["metadata"]["resourceVersion"]')
	stream "$BATS_TEST_TMPDIR/w" "$CM?watch=1&labelSelector=w%3D1&timeoutSeconds=5&resourceVersion=$rv" &
	pid=$!
	sleep 0.2
	api POST $CM "$(cm w-new '{"w":"1"}')" >/dev/null
	api PATCH $CM/w-old '{"metadata":{"labels":{"w":"2"}}}' application/merge-patch+json >/dev/null
	api PATCH $CM/w-new '{"data":{"x":"y"}}' application/merge-patch+json >/dev/null
	api DELETE $CM/w-new >/dev/null
	wait "$pid"
	stream "$BATS_TEST_TMPDIR/all" "$CM?watch=1&labelSelector=w&timeoutSeconds=1&resourceVersion=0"
	run events "$BATS_TEST_TMPDIR/all"
	assert_output 'ADDED w-old'
	run events "$BATS_TEST_TMPDIR/w"
	assert_output $'ADDED w-new\nDELETED w-old\nMODIFIED w-new\nDELETED w-new'
}

@test "watch: bookmarks, and 410 Expired for a version older than the history" {
	run api POST $CM "$(cm bm-0)"
	rv=$(body 'o["metadata"]["resourceVersion"]')
	stream "$BATS_TEST_TMPDIR/b" "$CM?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=$rv"
	run cat "$BATS_TEST_TMPDIR/b"
	assert_line --index 0 --regexp '^\{"type": "BOOKMARK", "object": \{"kind": "ConfigMap", "apiVersion": "v1", "metadata": \{"resourceVersion": "[0-9]+"\}\}\}$'
	api POST $CM "$(cm bm-1)" >/dev/null
	api POST /_wlkit/compact >/dev/null
	stream "$BATS_TEST_TMPDIR/gone" "$CM?watch=1&timeoutSeconds=5&resourceVersion=$rv"
	run cat "$BATS_TEST_TMPDIR/gone"
	assert_output --regexp '^\{"type": "ERROR", "object": \{"kind": "Status", "apiVersion": "v1", "metadata": \{\}, "status": "Failure", "message": "too old resource version: [0-9]+ \([0-9]+\)", "reason": "Expired", "code": 410\}\}$'
}

@test "dryRun=All validates and answers but persists nothing" {
	run api POST "$CM?dryRun=All" "$(cm dry)"
	assert_line --index 0 201
	run api GET $CM/dry
	assert_line --index 0 404
	run api POST "$CM?dryRun=All" "$(cm Dry)"
	assert_line --index 0 422
	api POST $CM "$(cm dry2)" >/dev/null
	run api PATCH "$CM/dry2?dryRun=All" '{"data":{"k":"v"}}' application/merge-patch+json
	assert_line --index 1 --partial '"data": {"k": "v"}'
	run api DELETE "$CM/dry2?dryRun=All"
	assert_line --index 0 200
	run api GET $CM/dry2
	assert_line --index 0 200
	refute_line --index 1 --partial '"data"'
}

@test "status subresource: main writes ignore status, status writes change only status" {
	dep='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"st"},"spec":{"replicas":1,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}},"status":{"replicas":9}}'
	P=/apis/apps/v1/namespaces/t/deployments/st
	run api POST /apis/apps/v1/namespaces/t/deployments "$dep"
	run body 'o.get("status"), o["metadata"]["generation"]'
	assert_output '[null, 1]'
	run api PATCH $P/status '{"status":{"replicas":2},"spec":{"replicas":7}}' application/merge-patch+json
	run body 'o["status"], o["spec"]["replicas"], o["metadata"]["generation"]'
	assert_output '[{"replicas": 2}, 1, 1]'
	run api PATCH $P '{"status":{"replicas":5},"spec":{"replicas":3}}' application/merge-patch+json
	run body 'o["status"], o["spec"]["replicas"], o["metadata"]["generation"]'
	assert_output '[{"replicas": 2}, 3, 2]'
}

@test "server-side apply with a YAML body, conflicts, removal, and a strategic merge patch" {
	dep='apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: "nginx:1"
        env:
        - {name: A, value: "1"}'
	P=/apis/apps/v1/namespaces/t/deployments/ssa
	run api PATCH "$P?fieldManager=one" "$dep" application/apply-patch+yaml
	assert_line --index 0 201
	assert_line --index 1 --partial '"managedFields": [{"manager": "one", "operation": "Apply"'
	run api PATCH "$P?fieldManager=two" "${dep/nginx:1/nginx:2}" application/apply-patch+yaml
	assert_line --index 0 409
	assert_line --index 1 --partial '"message": "Apply failed with 1 conflict: conflict with \"one\": .spec.template.spec.containers[name=\"web\"].image"'
	run api PATCH "$P?fieldManager=two&force=true" "${dep/nginx:1/nginx:2}" application/apply-patch+yaml
	assert_line --index 0 200
	run api PATCH $P '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}' application/strategic-merge-patch+json
	run body '[e["name"] for e in o["spec"]["template"]["spec"]["containers"][0]["env"]], o["spec"]["template"]["spec"]["containers"][0]["image"]'
	assert_output '[["A", "B"], "nginx:2"]'
	# A field a manager stops applying goes when no one else owns it.
	C="$CM/applied?fieldManager=m"
	api PATCH "$C" '{"apiVersion":"v1","kind":"ConfigMap","data":{"a":"1","b":"2"}}' application/apply-patch+yaml >/dev/null
	run api PATCH "$C" '{"apiVersion":"v1","kind":"ConfigMap","data":{"a":"1"}}' application/apply-patch+yaml
	assert_line --index 1 --partial '"data": {"a": "1"}'
	run api PATCH /apis/kueue.x-k8s.io/v1beta1/resourceflavors/x '{}' application/strategic-merge-patch+json
	assert_line --index 0 415
}

@test "fault injection: 429 with Retry-After, a dropped connection, the request log" {
	api DELETE /_wlkit/requests >/dev/null
	run api POST /_wlkit/faults '{"method":"GET","path":"/configmaps/flaky$","count":2,"action":"429","retryAfter":3}'
	assert_line --index 0 201
	run api GET $CM/flaky '' '' -D "$BATS_TEST_TMPDIR/headers"
	assert_line --index 0 429
	assert_line --index 1 --partial '"reason": "TooManyRequests", "code": 429, "details": {"retryAfterSeconds": 3}'
	run grep -i '^Retry-After: 3' "$BATS_TEST_TMPDIR/headers"
	assert_success
	run api GET /_wlkit/faults
	assert_line --index 1 --partial '"count": 1'
	api GET $CM/flaky >/dev/null
	run api GET $CM/flaky
	assert_line --index 0 404
	api POST /_wlkit/faults '{"path":"/configmaps/gone$","action":"drop"}' >/dev/null
	run api GET $CM/gone
	assert_failure 52
	run api GET '/_wlkit/requests?path=/configmaps/(flaky|gone)$'
	run body '[(r["method"], r["code"], len(r["auth"])) for r in o["requests"]]'
	assert_output '[["GET", 429, 12], ["GET", 429, 12], ["GET", 404, 12], ["GET", 0, 12]]'
	run grep -rlF "$FAKE_TOKEN" "$D/log" "$BATS_TEST_TMPDIR/body"
	assert_failure
}

@test "fault injection: a watch cut after K events, a 410 ERROR event, a warning" {
	api POST $CM "$(cm cut-1 '{"cut":"y"}')" >/dev/null
	api POST $CM "$(cm cut-2 '{"cut":"y"}')" >/dev/null
	api POST /_wlkit/faults '[{"path":"/configmaps$","action":"cut-watch","afterEvents":1},
		{"path":"/configmaps$","action":"error-410","count":1},
		{"method":"GET","path":"/configmaps/cut-1$","action":"warn","text":"deprecated thing"}]' >/dev/null
	run stream "$BATS_TEST_TMPDIR/cut" "$CM?watch=1&labelSelector=cut"
	assert_failure 18
	run events "$BATS_TEST_TMPDIR/cut"
	assert_output 'ADDED cut-1'
	stream "$BATS_TEST_TMPDIR/e410" "$CM?watch=1&resourceVersion=1"
	run cat "$BATS_TEST_TMPDIR/e410"
	assert_output --partial '"reason": "Expired", "code": 410'
	run api GET $CM/cut-1 '' '' -D "$BATS_TEST_TMPDIR/headers"
	assert_line --index 0 200
	run grep -i '^Warning: 299 - "deprecated thing"' "$BATS_TEST_TMPDIR/headers"
	assert_success
}

@test "RBAC: a TokenRequest token is accepted as its service account, and 403 names what is denied" {
	api POST /api/v1/namespaces/t/serviceaccounts '{"metadata":{"name":"bot"}}' >/dev/null
	run api POST /api/v1/namespaces/t/serviceaccounts/bot/token '{"spec":{"expirationSeconds":3600}}'
	assert_line --index 0 201
	assert_line --index 1 --regexp '"expirationTimestamp": "20[0-9-]+T[0-9:]+Z"'
	tok=$(body 'o["status"]["token"]')
	TOKEN=$tok run api GET $CM
	assert_line --index 0 403
	assert_line --index 1 --partial '"message": "configmaps is forbidden: User \"system:serviceaccount:t:bot\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"t\""'
	api POST /apis/rbac.authorization.k8s.io/v1/namespaces/t/roles '{"metadata":{"name":"cm-read"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get","list"]}]}' >/dev/null
	api POST /apis/rbac.authorization.k8s.io/v1/namespaces/t/rolebindings '{"metadata":{"name":"bot-reads"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"cm-read"},"subjects":[{"kind":"ServiceAccount","name":"bot","namespace":"t"}]}' >/dev/null
	TOKEN=$tok run api GET $CM
	assert_line --index 0 200
	TOKEN=$tok run api DELETE $CM/dup
	assert_line --index 0 403
	assert_line --index 1 --partial '"message": "configmaps \"dup\" is forbidden: User \"system:serviceaccount:t:bot\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"t\""'
	TOKEN=$tok run api POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews '{"spec":{"resourceAttributes":{"namespace":"t","verb":"list","resource":"configmaps"}}}'
	assert_line --index 1 --partial '"status": {"allowed": true}'
	run api POST /apis/authentication.k8s.io/v1/tokenreviews "{\"spec\":{\"token\":\"$tok\"}}"
	assert_line --index 1 --partial '"authenticated": true, "user": {"username": "system:serviceaccount:t:bot", "groups": ["system:serviceaccounts", "system:serviceaccounts:t", "system:authenticated"]'
	# The token dies with its service account.
	api DELETE /api/v1/namespaces/t/serviceaccounts/bot >/dev/null
	TOKEN=$tok run api GET $CM
	assert_line --index 0 401
}

@test "finalizers keep a deleted object until they are removed" {
	api POST $CM "$(cm fin '{}' '"finalizers":["wlkit.dev/x"]')" >/dev/null
	run api DELETE $CM/fin
	assert_line --index 0 200
	assert_line --index 1 --regexp '"deletionTimestamp": "[0-9TZ:-]+", "deletionGracePeriodSeconds": 0'
	run api PATCH $CM/fin '{"metadata":{"finalizers":["wlkit.dev/x","other"]}}' application/merge-patch+json
	assert_line --index 0 422
	run api GET $CM/fin
	assert_line --index 0 200
	run api PATCH $CM/fin '{"metadata":{"finalizers":null}}' application/merge-patch+json
	assert_line --index 0 200
	run api GET $CM/fin
	assert_line --index 0 404
}

owned() {	# owned NAME OWNER-UID: a ConfigMap body owned by OWNER-UID
	cm "$1" '{}' "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"o\",\"uid\":\"$2\"}]"
}

@test "deletion propagation: Orphan, Background, a Job's default; preconditions" {
	run api POST $CM "$(cm own-1)"
	uid1=$(body 'o["metadata"]["uid"]')
	run api POST $CM "$(cm own-2)"
	uid2=$(body 'o["metadata"]["uid"]')
	api POST $CM "$(owned dep-1 "$uid1")" >/dev/null
	api POST $CM "$(owned dep-2 "$uid2")" >/dev/null
	run api DELETE "$CM/own-1?propagationPolicy=Orphan"
	assert_line --index 0 200
	api DELETE $CM/own-2 '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}' >/dev/null
	sleep 0.2
	run api GET $CM/own-1
	assert_line --index 0 404
	run api GET $CM/dep-1
	assert_line --index 0 200
	refute_line --index 1 --partial ownerReferences
	run api GET $CM/dep-2
	assert_line --index 0 404
	run api DELETE "$CM/dep-1" '{"preconditions":{"uid":"not-it"}}'
	assert_line --index 0 409
	assert_line --index 1 --partial 'Precondition failed: UID in precondition: not-it, UID in object meta: '
	# A Job deleted through the API with no policy orphans its dependents.
	run api POST /apis/batch/v1/namespaces/t/jobs '{"metadata":{"name":"orphaner"},"spec":{"suspend":true,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}'
	uid=$(body 'o["metadata"]["uid"]')
	api POST $CM "$(cm orphan '{}' "\"ownerReferences\":[{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"name\":\"orphaner\",\"uid\":\"$uid\"}]")" >/dev/null
	api DELETE /apis/batch/v1/namespaces/t/jobs/orphaner >/dev/null
	sleep 0.2
	run api GET $CM/orphan
	assert_line --index 0 200
	refute_line --index 1 --partial ownerReferences
}

@test "a pod on a node stays until deleted with gracePeriodSeconds=0; unbound pods go at once" {
	pod='{"metadata":{"name":"%s"},"spec":{%s"containers":[{"name":"c","image":"i"}]}}'
	api POST /api/v1/namespaces/t/pods "$(printf "$pod" bound '"nodeName":"n1",')" >/dev/null
	api POST /api/v1/namespaces/t/pods "$(printf "$pod" free '')" >/dev/null
	run api DELETE /api/v1/namespaces/t/pods/bound
	assert_line --index 1 --regexp '"deletionTimestamp": "[0-9TZ:-]+", "deletionGracePeriodSeconds": 30'
	run api GET /api/v1/namespaces/t/pods/bound
	assert_line --index 0 200
	api DELETE /api/v1/namespaces/t/pods/bound '{"gracePeriodSeconds":0}' >/dev/null
	run api GET /api/v1/namespaces/t/pods/bound
	assert_line --index 0 404
	run api DELETE /api/v1/namespaces/t/pods/free
	assert_line --index 1 --partial '"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"'
}

@test "a CustomResourceDefinition makes its kind appear in discovery and servable" {
	crd='{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"widgets","kind":"Widget"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}'
	run api POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions "$crd"
	assert_line --index 0 201
	assert_line --index 1 --partial '"type": "Established", "status": "True"'
	run api GET /apis/example.com/v1
	assert_line --index 1 --partial '"resources": [{"name": "widgets", "singularName": "widget", "namespaced": true, "kind": "Widget"'
	run api POST /apis/example.com/v1/namespaces/t/widgets '{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":3}}'
	assert_line --index 0 201
	assert_line --index 1 --partial '"generation": 1'
	api DELETE /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com >/dev/null
	run api GET /apis/example.com/v1/namespaces/t/widgets/w
	assert_line --index 0 404
}

@test "deleting a namespace deletes what is in it" {
	api POST /api/v1/namespaces '{"metadata":{"name":"doomed"}}' >/dev/null
	api POST /api/v1/namespaces/doomed/configmaps "$(cm inside)" >/dev/null
	run api DELETE /api/v1/namespaces/doomed
	assert_line --index 1 --partial '"status": {"phase": "Terminating"}'
	run api POST /api/v1/namespaces/doomed/configmaps "$(cm late)"
	assert_line --index 0 --regexp '^(403|404)$'
	sleep 0.2
	run api GET /api/v1/namespaces/doomed
	assert_line --index 0 404
	run api GET /api/v1/namespaces/doomed/configmaps/inside
	assert_line --index 0 404
	run api DELETE /api/v1/namespaces/default
	assert_line --index 0 403
	assert_line --index 1 --partial '"message": "namespaces \"default\" is forbidden: this namespace may not be deleted"'
}
