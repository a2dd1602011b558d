# sagelite in a container: the embedded default (SQLite + in-process scheduler and executor).
FROM python:3.11-slim

WORKDIR /srv/sagelite
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# The OCI executor's runtime, the VMs' init and the volume tools. The image runs as an unprivileged user,
# so VMs are processes there; run it as root with --privileged (and SAGELITE_ISOLATION=oci) for real VMs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends runc tini e2fsprogs mount \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --create-home sagelite && mkdir -p /data && chown sagelite /data

USER sagelite
# Bound to every address, the server refuses to start without real root credentials: pass them at run
# time, never in the image, e.g.
#   docker run -e SAGELITE_ROOT_ACCESS_KEY_ID=AKIA... -e SAGELITE_ROOT_SECRET_ACCESS_KEY=... -p 8000:8000 sagelite
# The master key (which encrypts stored secrets and objects) is created in /data at first start, or read
# from SAGELITE_MASTER_KEY_FILE (mount it from a secret store).
ENV SAGELITE_HOST=0.0.0.0 \
    SAGELITE_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sagelite", "serve"]
