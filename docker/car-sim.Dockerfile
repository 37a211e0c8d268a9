# Simulated cars: one `pixelopolis sim world` (cameras over HTTP, emulated boards on ptys)
# and one `pixelopolis car` per car, started by docker/car_sim.py. World and cars share a
# container because a pty cannot cross containers. Each car registers with the fleet key
# (a secret file, $PIXELOPOLIS_FLEET_KEY_FILE) and serves its MJPEG stream on its own port.
# Build from the repository root: docker build -f docker/car-sim.Dockerfile .
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN python -m venv /opt/venv
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
# The shipped models the car runtime loads (models/*.tflite, with labels).
COPY models models
COPY docker/car_sim.py docker/car_sim.py

FROM python:3.11.14-slim-bookworm
RUN groupadd --system --gid 10001 pixelopolis \
    && useradd --system --uid 10001 --gid pixelopolis --create-home pixelopolis
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
# Car streams: the first car on 8201, the next on 8202, ...
EXPOSE 8201-8216
ENTRYPOINT ["python", "docker/car_sim.py"]
CMD ["--help"]
