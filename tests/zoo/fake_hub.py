"""A Hugging Face Hub on 127.0.0.1 for the zoo tests, speaking the protocol huggingface_hub uses.

- ``GET /api/models/{repo}/revision/{rev}?blobs=true``: the model info with ``sha`` and ``siblings`` (size, git blob
  id, and for LFS files the sha256 ``lfs`` block); 404s carry the hub's ``X-Error-Code``.
- ``HEAD/GET /{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit`` and ``ETag`` (the git blob id) for small files, served
  directly; LFS files answer 302 with ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size`` to a CDN on a second port,
  as the real hub redirects to its CDN.
- Byte ranges (``Range: bytes=N-`` -> 206) and faults per file path, or ``'api'`` for the model info: an HTTP status,
  dropped connections at given byte offsets, stalls, a flipped byte; several faults for one path act in turn.
"""
import hashlib
import json
import secrets
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Set, Tuple

LFS_SUFFIXES = ('.safetensors', '.bin', '.pth', '.model')


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


@dataclass
class Fault:
    """What goes wrong when a file (or ``'api'``) is requested; ``times`` counts the requests it still affects."""
    status: int = 0
    cut_at: List[int] = field(default_factory=list)
    stall: float = 0.0
    flip_byte: int = -1
    times: int = 1 << 30


@dataclass
class Repo:
    commit: str
    refs: Dict[str, str]
    files: Dict[str, bytes]
    unserved: Set[str] = field(default_factory=set)  # listed by the API but missing behind /resolve/


class FakeHub:
    """Hub and CDN servers on two ports of 127.0.0.1, with a log of the requests they answered."""

    def __init__(self):
        self.repos: Dict[str, Repo] = {}
        self.faults: Dict[str, List[Fault]] = {}
        self.requests: List[Tuple[str, str, Optional[str]]] = []  # (method, path, Range header)
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.servers = [_Server(self, _HubHandler), _Server(self, _CdnHandler)]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.servers[0].server_port}'

    @property
    def cdn_url(self) -> str:
        return f'http://127.0.0.1:{self.servers[1].server_port}'

    def add_repo(self, repo_id: str, files: Dict[str, bytes], commit: Optional[str] = None) -> str:
        commit = commit or secrets.token_hex(20)
        self.repos[repo_id] = Repo(commit, {'main': commit}, dict(files))
        return commit

    def gets(self, path_part: str = '') -> List[Tuple[str, str, Optional[str]]]:
        """The GET requests for file contents (not the API) whose path contains ``path_part``."""
        return [r for r in self.requests if r[0] == 'GET' and '/api/' not in r[1] and path_part in r[1]]

    def lfs_object(self, sha256: str) -> Tuple[str, bytes]:
        for repo in self.repos.values():
            for path, data in repo.files.items():
                if hashlib.sha256(data).hexdigest() == sha256:
                    return path, data
        raise KeyError(sha256)

    def inject(self, key: str, *faults: Fault):
        """Make requests for ``key`` fail: the first fault acts until its ``times`` are used up, then the next."""
        self.faults[key] = list(faults)

    def take_fault(self, key: str) -> Fault:
        with self.lock:
            for fault in self.faults.get(key, []):
                if fault.times > 0:
                    fault.times -= 1
                    return fault
            return Fault()

    def close(self):
        self.closing.set()
        for server in self.servers:
            server.shutdown()
            server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, hub: FakeHub, handler):
        self.hub = hub
        super().__init__(('127.0.0.1', 0), handler)

    def handle_error(self, request, client_address):  # clients that hang up mid-response are part of the tests
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.dispatch(head=True)

    def do_GET(self):
        self.dispatch(head=False)

    def dispatch(self, head: bool):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with self.hub.lock:
            self.hub.requests.append((self.command, path, self.headers.get('Range')))
        try:
            self.route(path, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def route(self, path: str, head: bool):
        raise NotImplementedError

    def reply(self, status: int, body: bytes = b'', headers: Optional[Dict[str, str]] = None, head: bool = False):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, status: int, code: str, commit: Optional[str] = None, head: bool = False):
        headers = {'X-Error-Code': code, 'Content-Type': 'application/json'}
        if commit:
            headers['X-Repo-Commit'] = commit
        self.reply(status, json.dumps({'error': code}).encode(), headers, head)

    def serve_bytes(self, key: str, data: bytes, headers: Dict[str, str], head: bool):
        """The file, or the part a Range asks for, with the fault registered for ``key`` applied."""
        fault = self.hub.take_fault(key)
        if fault.stall:
            self.hub.closing.wait(fault.stall)
        if fault.status:
            self.reply(fault.status, b'injected failure', head=head)
            return
        if fault.flip_byte >= 0:
            data = data[:fault.flip_byte] + bytes([data[fault.flip_byte] ^ 0xFF]) + data[fault.flip_byte + 1:]
        start, status, headers = 0, 200, dict(headers, **{'Accept-Ranges': 'bytes'})
        range_header = self.headers.get('Range')
        if range_header:
            start = int(range_header.split('=')[1].split('-')[0])
            if start >= len(data):
                self.reply(416, head=head, headers={'Content-Range': f'bytes */{len(data)}'})
                return
            status, headers['Content-Range'] = 206, f'bytes {start}-{len(data) - 1}/{len(data)}'
        body = data[start:]
        cut = next((offset for offset in fault.cut_at if offset > start), None)
        if cut is not None:
            fault.cut_at.remove(cut)
        self.send_response(status)
        for key_, value in headers.items():
            self.send_header(key_, value)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if head:
            return
        if cut is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[:cut - start])  # then drop the connection mid-body, as a flaky network does
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class _HubHandler(_Handler):

    def route(self, path: str, head: bool):
        if path.startswith('/api/models/'):
            self.model_info(path[len('/api/models/'):], head)
        elif '/resolve/' in path:
            repo_id, rest = path[1:].split('/resolve/', 1)
            revision, file = rest.split('/', 1)
            self.resolve(repo_id, revision, file, head)
        else:
            self.reply(404, head=head)

    def find(self, repo_id: str, revision: str, head: bool) -> Optional[Repo]:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self.error(404, 'RepoNotFound', head=head)
        elif revision not in (repo.commit, *repo.refs):
            self.error(404, 'RevisionNotFound', head=head)
            return None
        return repo

    def model_info(self, rest: str, head: bool):
        repo_id, _, revision = rest.partition('/revision/')
        fault = self.hub.take_fault('api')
        if fault.stall:
            self.hub.closing.wait(fault.stall)
        if fault.status:
            self.reply(fault.status, b'injected failure', head=head)
            return
        repo = self.find(repo_id, revision or 'main', head)
        if repo is None:
            return
        siblings = []
        for name, data in sorted(repo.files.items()):
            sibling = {'rfilename': name, 'size': len(data), 'blobId': git_blob_id(data)}
            if name.endswith(LFS_SUFFIXES):
                pointer = f'version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}'
                sibling.update(blobId=git_blob_id(pointer.encode()), size=len(pointer),
                               lfs={'sha256': hashlib.sha256(data).hexdigest(), 'size': len(data),
                                    'pointerSize': len(pointer)})
            siblings.append(sibling)
        body = {'_id': repo_id, 'id': repo_id, 'modelId': repo_id, 'sha': repo.commit, 'private': False,
                'siblings': siblings}
        self.reply(200, json.dumps(body).encode(), {'Content-Type': 'application/json'}, head)

    def resolve(self, repo_id: str, revision: str, file: str, head: bool):
        repo = self.find(repo_id, revision, head)
        if repo is None:
            return
        if file not in repo.files or file in repo.unserved:
            self.error(404, 'EntryNotFound', repo.commit, head)
            return
        data = repo.files[file]
        headers = {'X-Repo-Commit': repo.commit, 'ETag': f'"{git_blob_id(data)}"'}
        if file.endswith(LFS_SUFFIXES):
            sha256 = hashlib.sha256(data).hexdigest()
            self.reply(302, head=head, headers=dict(headers, **{
                'X-Linked-Etag': f'"{sha256}"', 'X-Linked-Size': str(len(data)),
                'Location': f'{self.hub.cdn_url}/lfs/{sha256}'}))
        else:
            self.serve_bytes(file, data, headers, head)


class _CdnHandler(_Handler):

    def route(self, path: str, head: bool):
        sha256 = path.rsplit('/', 1)[-1]
        try:
            file, data = self.hub.lfs_object(sha256)
        except KeyError:
            self.reply(404, head=head)
            return
        self.serve_bytes(file, data, {'ETag': f'"{sha256}"'}, head)
