# A station: `pixelopolis station`, the visitors' screens and the operator page.
# Build from the repository root: docker build -f docker/station.Dockerfile .
# The fleet key is never baked in: it comes at run time as a secret file
# ($PIXELOPOLIS_FLEET_KEY_FILE) or in $PIXELOPOLIS_FLEET_KEY.
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /opt/venv
# Dependencies first (cached while only our code changes), at the versions we test with.
COPY requirements/constraints.txt requirements/constraints.txt
COPY pyproject.toml README.md LICENSE ./
COPY city city
COPY server server
COPY vehicle vehicle
COPY station station
COPY sim sim
COPY firmware_bridge firmware_bridge
COPY training training
COPY pixelopolis pixelopolis
RUN /opt/venv/bin/pip install --no-cache-dir -c requirements/constraints.txt -e .

FROM python:3.11.14-slim-bookworm
RUN groupadd --system --gid 10001 pixelopolis \
    && useradd --system --uid 10001 --gid pixelopolis --no-create-home pixelopolis
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
EXPOSE 8100
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8100/health', timeout=4)"]
ENTRYPOINT ["pixelopolis"]
CMD ["station", "--help"]
