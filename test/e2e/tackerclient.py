#!/usr/bin/python3
"""End-to-end check: python-tackerclient (Debian python3-tackerclient) against a real Depot.

Uses the client the way a new user without Keystone would:

    from tackerclient.v1_0 import client
    tacker = client.Client(endpoint_url='http://127.0.0.1:9890', token='<token>')

and drives every VNF package operation: create, upload (file and URI), list, show, update,
download (package, VNFD, artifact), delete. Starts Depot itself (embedded PostgreSQL unless
DEPOT_DATABASE_URL is set) on a free port with a temporary data directory, and serves the
"upload from URI" CSAR from a local HTTP server (loopback allowed via DEPOT_CONFIG).

Exit status 0 = every check passed; 1 = a check failed; 77 = tackerclient is not installed.
Run: /usr/bin/python3 test/e2e/tackerclient.py   (the Debian package installs for /usr/bin/python3)
"""
import hashlib
import http.server
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid
import zipfile

# This file is itself named tackerclient.py: keep its directory off sys.path, or `import
# tackerclient` would import this script instead of the library.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.path.dirname(os.path.abspath(__file__))]
try:
    from tackerclient.v1_0 import client as tacker_client
    from tackerclient.common import exceptions as tacker_exc
except ImportError:
    print('SKIP: python tackerclient is not importable (apt-get install python3-tackerclient; use /usr/bin/python3)')
    sys.exit(77)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(REPO, 'test', 'fixtures', 'tosca', 'valid', 'single_file_v3')
FIXTURE_HASH = '5f2b0b5d9c2e1c5b8a0f6f2e9d4b3c7a1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b'
FIXTURE_VNFD_ID = '0d3b8f5e-2a55-4d43-9f59-6a1c5e0b7c11'
SCRIPT = b'#!/bin/sh\necho "configured by Depot e2e"\n'

checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)
    print('  ok  %s' % what)


def build_csar(vnfd_id, software_version):
    """A SOL004 CSAR (TOSCA-Metadata layout, manifest with SHA-256 of every file), built like
    Tacker's own tooling does (Python zipfile, deflated)."""
    with open(os.path.join(FIXTURE, 'Files', 'images', 'depot-test-1.0.qcow2'), 'rb') as f:
        image = f.read()
    with open(os.path.join(FIXTURE, 'Definitions', 'vnfd.yaml')) as f:
        vnfd = f.read()
    vnfd = (vnfd.replace(FIXTURE_HASH, hashlib.sha256(image).hexdigest())
                .replace(FIXTURE_VNFD_ID, vnfd_id)
                .replace("software_version: '1.0.0'", "software_version: '%s'" % software_version))
    files = {
        'Definitions/vnfd.yaml': vnfd.encode(),
        'Files/images/depot-test-1.0.qcow2': image,
        'Scripts/install.sh': SCRIPT,
    }
    meta = ('TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-By: Depot e2e\n'
            'Entry-Definitions: Definitions/vnfd.yaml\nETSI-Entry-Manifest: manifest.mf\n')
    manifest = ('metadata:\n  vnf_provider_id: Depot\n  vnf_product_name: Depot Test VNF\n'
                '  vnf_release_date_time: 2026-11-24T10:00:00+01:00\n  vnf_package_version: 1.0\n\n')
    manifest += '\n'.join('Source: %s\nAlgorithm: SHA-256\nHash: %s\n' % (k, hashlib.sha256(v).hexdigest())
                          for k, v in files.items())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('TOSCA-Metadata/TOSCA.meta', meta)
        for k, v in files.items():
            z.writestr(k, v)
        z.writestr('manifest.mf', manifest)
    return buf.getvalue(), vnfd


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_onboarded(tacker, pkg_id, timeout=60):
    deadline = time.time() + timeout
    while True:
        info = tacker.show_vnf_package(pkg_id)
        if info['onboardingState'] in ('ONBOARDED', 'ERROR') or time.time() > deadline:
            return info
        time.sleep(0.2)


def expect_error(status, fn, what):
    try:
        fn()
    except tacker_exc.TackerClientException as e:
        check(e.status_code == status, '%s -> %s (%s)' % (what, e.status_code, e))
        return
    check(False, '%s should fail with %s' % (what, status))


def run(url, token, csar_dir, http_port):
    tacker = tacker_client.Client(endpoint_url=url, token=token)

    print('create')
    pkg = tacker.create_vnf_package({'userDefinedData': {'owner': 'e2e'}})
    pkg_id = pkg['id']
    check(pkg['onboardingState'] == 'CREATED' and pkg['operationalState'] == 'DISABLED', 'created package is CREATED/DISABLED')
    check(pkg['userDefinedData'] == {'owner': 'e2e'}, 'userDefinedData kept')

    print('upload (file)')
    file_path = os.path.join(csar_dir, 'file.csar')
    # Fresh VNFD ids each run: a shared database may still hold an earlier run's packages.
    vnfd1, vnfd2 = str(uuid.uuid4()), str(uuid.uuid4())
    data, vnfd_text = build_csar(vnfd1, '1.0.0')
    with open(file_path, 'wb') as f:
        f.write(data)
    with open(file_path, 'rb') as f:
        tacker.upload_vnf_package(pkg_id, file_data=f)
    info = wait_onboarded(tacker, pkg_id)
    check(info['onboardingState'] == 'ONBOARDED', 'file upload onboarded (%s)' % info.get('onboardingFailureDetails', {}).get('detail', info['onboardingState']))
    check(info['operationalState'] == 'ENABLED', 'onboarded package is ENABLED')
    check(info['checksum']['hash'] == hashlib.sha256(data).hexdigest(), 'checksum is the SHA-256 of the uploaded CSAR')
    check(info['vnfdId'] == vnfd1, 'vnfdId read from the VNFD')
    check(any(a['artifactPath'] == 'Scripts/install.sh' for a in info.get('additionalArtifacts', [])), 'Scripts/install.sh listed in additionalArtifacts')

    print('upload (URI)')
    uri_path = os.path.join(csar_dir, 'uri.csar')
    uri_data, _ = build_csar(vnfd2, '2.0.0')
    with open(uri_path, 'wb') as f:
        f.write(uri_data)
    pkg2 = tacker.create_vnf_package({})
    tacker.upload_vnf_package(pkg2['id'], url='http://127.0.0.1:%d/uri.csar' % http_port, userName='vendor', password='secret')
    info2 = wait_onboarded(tacker, pkg2['id'])
    check(info2['onboardingState'] == 'ONBOARDED', 'URI upload onboarded (%s)' % info2.get('onboardingFailureDetails', {}).get('detail', info2['onboardingState']))
    check(info2['checksum']['hash'] == hashlib.sha256(uri_data).hexdigest(), 'URI package checksum matches')

    print('list')
    listed = tacker.list_vnf_packages()['vnf_packages']
    ids = {p['id'] for p in listed}
    check({pkg_id, pkg2['id']} <= ids, 'both packages listed')
    check(all('softwareImages' not in p for p in listed), 'list excludes the default-excluded attributes')
    filtered = tacker.list_vnf_packages(filter='(eq,vnfdId,%s)' % vnfd2)['vnf_packages']
    check([p['id'] for p in filtered] == [pkg2['id']], 'list with filter')

    print('show')
    shown = tacker.show_vnf_package(pkg_id)
    check(shown['id'] == pkg_id and shown['softwareImages'][0]['imagePath'] == 'Files/images/depot-test-1.0.qcow2', 'show returns softwareImages')

    print('update')
    mod = tacker.update_vnf_package(pkg_id, {'operationalState': 'DISABLED', 'userDefinedData': {'stage': 'test'}})
    check(mod == {'operationalState': 'DISABLED', 'userDefinedData': {'stage': 'test'}}, 'update answers the modifications')
    shown = tacker.show_vnf_package(pkg_id)
    check(shown['operationalState'] == 'DISABLED' and shown['userDefinedData'] == {'owner': 'e2e', 'stage': 'test'}, 'update applied (merge patch)')
    expect_error(409, lambda: tacker.update_vnf_package(pkg_id, {'operationalState': 'DISABLED'}), 'disabling a DISABLED package')

    print('download package')
    got = tacker.download_vnf_package(pkg_id)
    check(isinstance(got, bytes) and got == data, 'package_content is the uploaded CSAR, byte for byte')

    print('download VNFD')
    for accept in ('text/plain', 'application/zip', 'both'):
        vnfd = tacker.download_vnfd_from_vnf_package(pkg_id, accept)
        if isinstance(vnfd, bytes):  # a ZIP
            with zipfile.ZipFile(io.BytesIO(vnfd)) as z:
                vnfd = z.read('Definitions/vnfd.yaml').decode()
        check(vnfd == vnfd_text, 'VNFD (%s) is the package VNFD' % accept)

    print('download artifact')
    art = tacker.download_artifact_from_vnf_package(pkg_id, 'Scripts/install.sh')
    check((art.encode() if isinstance(art, str) else art) == SCRIPT, 'artifact Scripts/install.sh')
    img = tacker.download_artifact_from_vnf_package(pkg_id, 'Files/images/depot-test-1.0.qcow2')
    with open(os.path.join(FIXTURE, 'Files', 'images', 'depot-test-1.0.qcow2'), 'rb') as f:
        check((img.encode() if isinstance(img, str) else img) == f.read(), 'artifact Files/images/depot-test-1.0.qcow2')
    expect_error(404, lambda: tacker.download_artifact_from_vnf_package(pkg_id, 'Scripts/missing.sh'), 'missing artifact')

    print('delete')
    expect_error(409, lambda: tacker.delete_vnf_package(pkg2['id']), 'deleting an ENABLED package')
    tacker.delete_vnf_package(pkg_id)
    expect_error(404, lambda: tacker.show_vnf_package(pkg_id), 'show after delete')
    tacker.update_vnf_package(pkg2['id'], {'operationalState': 'DISABLED'})
    tacker.delete_vnf_package(pkg2['id'])
    check(pkg2['id'] not in {p['id'] for p in tacker.list_vnf_packages()['vnf_packages']}, 'deleted packages are gone from the list')

    print('bad token')
    bad = tacker_client.Client(endpoint_url=url, token='not-a-token')
    try:
        bad.list_vnf_packages()
        check(False, 'a bad token is refused')
    except (tacker_exc.Unauthorized, tacker_exc.TackerClientException) as e:
        check(getattr(e, 'status_code', 401) == 401, 'a bad token is refused (401)')


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    work = tempfile.mkdtemp(prefix='depot-e2e-tacker-')
    data_dir = os.path.join(work, 'data')
    csar_dir = os.path.join(work, 'csars')
    os.makedirs(csar_dir)
    config = os.path.join(work, 'depot.yaml')
    with open(config, 'w') as f:
        # Loopback is refused for upload_from_uri by default (SSRF); this test serves from 127.0.0.1.
        f.write("uploadFromUri:\n  allow: ['127.0.0.0/8']\n")
    port = free_port()
    env = dict(os.environ, DEPOT_DATA_DIR=data_dir, DEPOT_PORT=str(port), DEPOT_HOST='127.0.0.1',
               DEPOT_CONFIG=config, DEPOT_LOG_LEVEL=os.environ.get('DEPOT_LOG_LEVEL', 'warn'))
    tsx = os.path.join(REPO, 'node_modules', '.bin', 'tsx')
    log = open(os.path.join(work, 'depot.log'), 'w')
    server = subprocess.Popen([tsx, os.path.join(REPO, 'src', 'main.ts')], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    handler = lambda *a, **k: Quiet(*a, directory=csar_dir, **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ok = False
    try:
        url = 'http://127.0.0.1:%d' % port
        tokens = os.path.join(data_dir, 'tokens.yaml')
        deadline = time.time() + 120
        token = None
        while time.time() < deadline:
            if server.poll() is not None:
                raise RuntimeError('Depot exited with %s' % server.returncode)
            if token is None and os.path.exists(tokens):
                for line in open(tokens):
                    if line.strip().startswith('- token:'):
                        token = line.split(':', 1)[1].strip()
            if token:
                try:
                    urllib.request.urlopen(urllib.request.Request(url + '/vnfpkgm/v1/api_versions', headers={'X-Auth-Token': token}), timeout=2)
                    break
                except OSError:
                    pass
            time.sleep(0.3)
        else:
            raise RuntimeError('Depot did not start within 120 s')
        print('Depot at %s (data %s)' % (url, data_dir))
        run(url, token, csar_dir, httpd.server_address[1])
        ok = True
        print('PASS: %d checks' % checks)
    except Exception:
        traceback.print_exc()
        log.flush()
        print('--- Depot log (tail) ---')
        print(''.join(open(os.path.join(work, 'depot.log')).readlines()[-40:]))
        print('FAIL after %d checks' % checks)
    finally:
        httpd.shutdown()
        try:
            os.killpg(server.pid, 15)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
