#!/usr/bin/env bash
# End-to-end proof of the support services, from the point of view of a test host.
#
#   bash tests/rig/support/e2e-host.sh        (after `python3 tests/rig/support.py up`)
#   KEEP=1 bash tests/rig/support/e2e-host.sh (leave the host running to look around)
#
# It starts a throwaway systemd test host on the speech-ci network (as the
# Molecule platforms run it), installs docker.io there with apt (through the
# support DNS, which forwards), trusts the test CA for mcr.microsoft.com and the
# mirror, points the inner engine's DNS at the support DNS (daemon.json), pulls
# the NTTS emulator as mcr.microsoft.com/..., runs it with Eula/Billing/ApiKey,
# and checks /ready, /status and a synthesis; then the same from the private
# mirror with credentials, a nested container on a user-defined inner network
# (Docker's embedded DNS there), and the diagnostic container. Exit 0 = all passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
support_json=${SPEECH_CI_SUPPORT:-/var/lib/speech-ci/support.json}
[ -f "$support_json" ] || { echo "no $support_json: run python3 tests/rig/support.py up first" >&2; exit 2; }

j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$support_json" "$1"; }
host_image=${SPEECH_CI_IMAGE_HOST:-$(cd "$root/tests/rig" && python3 -c 'import rig; print(rig.image_env()["SPEECH_CI_IMAGE_HOST"])')}
caps=$(cd "$root/tests/rig" && python3 -c 'import rig; print(" ".join("--cap-add=" + c for c in rig.HOST_CAPABILITIES))')
network=$(j 'd["network"]')
dns_ip=$(j 'd["dns_ip"]')
registry_a=$(j 'd["registry_a"]')
registry_b=$(j 'd["registry_b"]')
endpoint=$(j 'd["billing_endpoint"]')
valid_key=$(j 'd["valid_key"]')
invalid_key=$(j 'd["invalid_key"]')
mirror_user=$(j 'd["mirror_username"]')
mirror_password=$(j 'd["mirror_password"]')
ca_path=$(j 'd["ca_cert_path"]')
ntts=azure-cognitive-services/speechservices/neural-text-to-speech:4.1.0-amd64-en-us-arianeural
stt=azure-cognitive-services/speechservices/speech-to-text:5.1.0-amd64-en-us
diag=azure-cognitive-services/diagnostic:latest

name=speech-ci-e2e-$$
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept the host: docker exec -it $name bash; remove with: docker rm -f -v $name"; return; fi
  docker rm -f -v "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT
in_host() { docker exec -i "$name" bash -c "$1"; }

echo "== starting the test host $name from $host_image"
# shellcheck disable=SC2086
docker run -d --name "$name" --hostname e2e-host $caps \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --cgroupns host \
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v /var/lib/docker --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
  --dns "$dns_ip" --network "$network" "$host_image" /lib/systemd/systemd >/dev/null
for _ in $(seq 60); do
  state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done
pass "systemd is up in the host ($state)"

in_host "getent hosts $registry_a" | grep -q "$(j 'd["registry_a_ip"]')" || fail "the host does not resolve $registry_a to registry A"
in_host "getent hosts speechdemo.cognitiveservices.azure.com" | grep -q "$(j 'd["billing_ip"]')" || fail "the host does not resolve the billing name"
pass "the host resolves $registry_a and the billing name through the support DNS"

echo "== installing docker.io in the host (apt through the forwarding DNS)"
in_host "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq docker.io >/dev/null" || fail "apt-get install docker.io"
pass "docker.io installed"

echo "== trusting the test CA for the registries, and the support DNS for nested containers"
for reg in "$registry_a" "$registry_b"; do
  in_host "mkdir -p /etc/docker/certs.d/$reg"
  docker exec -i "$name" tee "/etc/docker/certs.d/$reg/ca.crt" <"$ca_path" >/dev/null
done
in_host "printf '{\"dns\": [\"%s\"]}\n' $dns_ip > /etc/docker/daemon.json && systemctl restart docker && docker info >/dev/null"
pass "inner engine configured (certs.d and daemon.json dns)"

echo "== pulling $registry_a/$ntts"
in_host "docker pull -q $registry_a/$ntts" >/dev/null || fail "pull from $registry_a"
pass "pulled $registry_a/$ntts"

echo "== running it as the docs say"
in_host "docker run -d --name ntts -p 5000:5000 --memory 12g --cpus 1 $registry_a/$ntts Eula=accept Billing=$endpoint ApiKey=$valid_key" >/dev/null
ready=
for _ in $(seq 60); do
  code=$(in_host "curl -s -o /dev/null -w '%{http_code}' http://localhost:5000/ready" || true)
  if [ "$code" = 200 ]; then ready=yes; break; fi
  sleep 1
done
[ -n "$ready" ] || { in_host "docker logs ntts" >&2; fail "/ready never answered 200"; }
pass "/ready: $(in_host 'curl -s http://localhost:5000/ready')"
status=$(in_host "curl -s -w ' %{http_code}' http://localhost:5000/status")
case "$status" in *'"apiStatus": "Valid"'*' 200') pass "/status: $status" ;; *) fail "/status: $status" ;; esac
in_host "curl -s -o /tmp/probe.wav -w '%{http_code} %{size_download}\n' -X POST http://localhost:5000/speech/synthesize/cognitiveservices/v1 \
  -H 'Content-Type: application/ssml+xml' -H 'X-Microsoft-OutputFormat: riff-16khz-16bit-mono-pcm' \
  --data \"<speak version='1.0' xml:lang='en-US'><voice name='en-US-AriaNeural'>ready check</voice></speak>\"" | grep -q '^200 ' \
  || fail "synthesis did not answer 200"
[ "$(in_host 'head -c 4 /tmp/probe.wav')" = RIFF ] || fail "synthesis is not RIFF"
pass "synthesis returned RIFF ($(in_host 'stat -c %s /tmp/probe.wav') bytes)"
if in_host "docker logs ntts 2>&1" | grep -q "$valid_key"; then fail "the container printed the API key"; fi
pass "the API key is not in the container log"

echo "== the private mirror with credentials"
if in_host "docker pull -q $registry_b/$stt" >/dev/null 2>&1; then fail "the mirror served an anonymous pull"; fi
in_host "echo '$mirror_password' | docker login -u '$mirror_user' --password-stdin $registry_b >/dev/null 2>&1" || fail "docker login $registry_b"
in_host "docker pull -q $registry_b/$stt" >/dev/null || fail "pull from $registry_b"
pass "pulled $registry_b/$stt after docker login (anonymous pull refused)"

echo "== a nested container on a user-defined inner network (Docker's embedded DNS)"
in_host "docker network create inner >/dev/null && docker pull -q $registry_a/$diag >/dev/null"
out=$(in_host "docker run --rm --network inner $registry_a/$diag eula=accept Billing=$endpoint ApiKey=$valid_key") || { echo "$out"; fail "diagnostic (inner network)"; }
echo "$out" | sed 's/^/    /'
pass "diagnostic passes from a user-defined inner network"
out=$(in_host "docker run --rm $registry_a/$diag eula=accept Billing=$endpoint ApiKey=$invalid_key") && fail "diagnostic passed with an invalid key"
echo "$out" | grep -q 'status Invalid' || fail "diagnostic did not report Invalid: $out"
pass "diagnostic fails (exit 1) with an invalid key, default bridge"
echo "ALL PASSED"
