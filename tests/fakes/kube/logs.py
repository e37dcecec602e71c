"""logs.py - GET .../pods/NAME/log, proxied to the node's kubelet endpoint.

The pod's node advertises its kubelet in status.addresses (InternalIP)
and status.daemonEndpoints.kubeletEndpoint.Port; the request goes there
over HTTPS as /containerLogs/NS/POD/CONTAINER with the same parameters
(follow, tailLines, limitBytes, sinceSeconds, sinceTime, timestamps,
previous), without verifying the kubelet's certificate (as an API server
run with --kubelet-insecure-tls), and the answer streams back chunk by
chunk as it arrives. A pod that is not on a node, or whose node has no
endpoint, gets the 400 the kubelet gives for a container that has not
started.
"""
import http.client
import ssl
import urllib.parse

from errors import ApiError, bad_request

PASS = ("follow", "tailLines", "limitBytes", "sinceSeconds", "sinceTime",
        "timestamps", "previous")
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden",
           404: "NotFound", 500: "InternalError", 503: "ServiceUnavailable"}


def _container(pod, want):
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    main = [c.get("name") for c in spec.get("containers") or []]
    init = [c.get("name") for c in spec.get("initContainers") or []]
    eph = [c.get("name") for c in spec.get("ephemeralContainers") or []]
    if want:
        if want not in main + init + eph:
            raise bad_request("container %s is not valid for pod %s" % (want, name))
        return want
    if len(main) == 1:
        return main[0]
    msg = "a container name must be specified for pod %s, choose one of: [%s]" \
        % (name, " ".join(main))
    if init:
        msg += " or one of the init containers: [%s]" % " ".join(init)
    raise bad_request(msg)


def _waiting(pod, c):
    reason = "ContainerCreating"
    st = pod.get("status") or {}
    for cs in (st.get("containerStatuses") or []) + \
            (st.get("initContainerStatuses") or []):
        if cs.get("name") == c:
            w = (cs.get("state") or {}).get("waiting") or {}
            reason = w.get("reason") or reason
    return bad_request('container "%s" in pod "%s" is waiting to start: %s'
                       % (c, pod["metadata"]["name"], reason))


def _endpoint(store, pod):
    node = (pod.get("spec") or {}).get("nodeName")
    if not node:
        return None
    n = store.get("nodes", None, node)
    if n is None:
        return None
    st = n.get("status") or {}
    port = ((st.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    addrs = st.get("addresses") or []
    addr = next((a.get("address") for a in addrs if a.get("type") == "InternalIP"),
                None) or next((a.get("address") for a in addrs), None)
    if not port or not addr:
        return None
    return addr, int(port)


def proxy(ctx, pod):
    c = _container(pod, ctx.query.get("container"))
    ep = _endpoint(ctx.server.store, pod)
    if ep is None:
        raise _waiting(pod, c)
    md = pod["metadata"]
    params = [(k, ctx.query[k]) for k in PASS if k in ctx.query]
    path = "/containerLogs/%s/%s/%s" % (urllib.parse.quote(md["namespace"]),
                                        urllib.parse.quote(md["name"]),
                                        urllib.parse.quote(c))
    if params:
        path += "?" + urllib.parse.urlencode(params)
    tls = ssl.create_default_context()
    tls.check_hostname = False
    tls.verify_mode = ssl.CERT_NONE
    host, port = ep
    conn = http.client.HTTPSConnection(host, port, context=tls, timeout=10)
    try:
        try:
            conn.request("GET", path, headers={"Accept": "*/*"})
            conn.sock.settimeout(None)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            raise ApiError(500, "InternalError",
                           'Get "https://%s:%d%s": %s' % (host, port, path, e))
        if resp.status != 200:
            body = resp.read(65536).decode("utf-8", "replace").strip()
            raise ApiError(resp.status, REASONS.get(resp.status, "InternalError"),
                           body or "the kubelet answered %d" % resp.status)
        ctx.start_stream(200, "text/plain")
        try:
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                ctx.send_chunk(data)
            ctx.end_stream()
        except (BrokenPipeError, ConnectionResetError, OSError):
            ctx.close_connection = True
    finally:
        conn.close()
