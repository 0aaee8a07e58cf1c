#!/usr/bin/python3
"""Tacker's v2 VNFM NFVO client, on the HTTP stack Tacker uses (keystoneauth1 + requests).

Rebuilt from ../shared/reference/tacker-vnfm.md (Tacker's sol_refactored/common/http_client.py and
nfvo_client.py are not packaged by Debian; keystoneauth1 is): an auth plugin that POSTs to the token
endpoint with HTTP Basic and grant_type=client_credentials before each request and sends
`Authorization: Bearer`, a session request with `Accept: application/json` and `Version: 2.1.0`, and
Tacker's body decoding (bytes only for exactly application/zip, JSON otherwise).

Environment: DEPOT_URL, CLIENT_ID, CLIENT_PASSWORD, VNFD_ID. Prints one JSON line with what it got.
Exit 0 = done; 1 = a request failed; 77 = keystoneauth1 is not importable.
"""
import hashlib
import io
import json
import os
import sys
import zipfile

try:
    from keystoneauth1 import plugin, session
    from requests import auth as requests_auth
except ImportError:
    print('SKIP: keystoneauth1 is not importable (apt-get install python3-keystoneauth1; use /usr/bin/python3)')
    sys.exit(77)


class OAuth2AuthPlugin(plugin.FixedEndpointPlugin):
    """Client credentials against [v2_nfvo] token_endpoint, a new token for every request."""

    def __init__(self, endpoint, token_endpoint, client_id, client_password):
        super().__init__(endpoint)
        self.token_endpoint = token_endpoint
        self.client_id = client_id
        self.client_password = client_password
        self.tokens = 0

    def get_token(self, session, **kwargs):
        resp = session.post(self.token_endpoint, authenticated=False, raise_exc=False,
                            requests_auth=requests_auth.HTTPBasicAuth(self.client_id, self.client_password),
                            data={'grant_type': 'client_credentials'})
        if resp.status_code != 200:
            raise RuntimeError('token endpoint: %s %s' % (resp.status_code, resp.text))
        self.tokens += 1
        return resp.json()['access_token']

    def get_headers(self, session, **kwargs):
        return {'Authorization': 'Bearer %s' % self.get_token(session)}


def decode_body(resp):
    if resp.status_code == 204:
        return None
    if resp.headers.get('Content-Type') == 'application/zip':
        return resp.content
    return json.loads(resp.text) if resp.text else None


def main():
    base = os.environ['DEPOT_URL']
    auth = OAuth2AuthPlugin(base, base + '/oauth2/token', os.environ['CLIENT_ID'], os.environ['CLIENT_PASSWORD'])
    sess = session.Session(auth=auth)
    pkg_url = '%s/vnfpkgm/v2/onboarded_vnf_packages/%s' % (base, os.environ['VNFD_ID'])

    def get(url):
        resp = sess.request(url, 'GET', raise_exc=False, headers={'Accept': 'application/json', 'Version': '2.1.0'})
        body = decode_body(resp)
        if resp.status_code != 200:
            raise RuntimeError('%s: %s %s' % (url, resp.status_code, body.get('detail') if isinstance(body, dict) else body))
        return resp, body

    _, info = get(pkg_url)
    _, vnfd = get(pkg_url + '/vnfd')
    if not isinstance(vnfd, bytes):
        raise RuntimeError('vnfd was not served as exactly application/zip')
    vnfd_names = sorted(zipfile.ZipFile(io.BytesIO(vnfd)).namelist())
    _, content = get(pkg_url + '/package_content')
    if not isinstance(content, bytes):
        raise RuntimeError('package_content was not served as exactly application/zip')
    print(json.dumps({
        'operationalState': info['operationalState'],
        'vnfProvider': info['vnfProvider'],
        'vnfProductName': info['vnfProductName'],
        'vnfSoftwareVersion': info['vnfSoftwareVersion'],
        'vnfdVersion': info['vnfdVersion'],
        'vnfdFiles': vnfd_names,
        'packageSha256': hashlib.sha256(content).hexdigest(),
        'packageFiles': sorted(zipfile.ZipFile(io.BytesIO(content)).namelist()),
        'tokens': auth.tokens,
    }))


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # one line for the mocha test's message
        print('FAIL: %s' % e)
        sys.exit(1)
