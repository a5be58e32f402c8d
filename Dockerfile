FROM python:3.11-slim AS builder
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY schemas ./schemas
COPY src ./src
# relance as a wheel, and every dependency as the wheel requirements.lock pins (`make lock`),
# checked against its hashes, so the runtime stage installs offline exactly what was locked.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip download --no-cache-dir --require-hashes --only-binary=:all: --no-deps \
        --dest /wheels --requirement requirements.lock \
 && cp requirements.lock /wheels/

FROM python:3.11-slim
LABEL org.opencontainers.image.title="relance" \
      org.opencontainers.image.description="Kafka-native engine for e-commerce trigger marketing" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A numeric uid: Kubernetes can check runAsNonRoot only against a number (the manifests use it).
# No home and no volume: the processes keep nothing on disk (states and the ledger are
# rebuilt from their changelog topics).
RUN groupadd --system --gid 10001 relance \
 && useradd --system --uid 10001 --gid relance --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin relance
# Mounted rather than copied, so the wheels take no layer in the final image. The locked
# dependencies (hashes checked again), then the plain wheel without resolving anything more:
# the demo extra (embedded broker, mail sink) stays out of the image. pip check fails the
# build if the lock no longer satisfies the wheel's requirements.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels --require-hashes \
        --requirement /wheels/requirements.lock \
 && pip install --no-cache-dir --no-index --no-deps /wheels/relance-*.whl \
 && pip check
USER 10001:10001
# 6066 is the worker's web port (RELANCE_WEB_PORT), 6067 the sender's (RELANCE_SENDER_WEB_PORT).
EXPOSE 6066 6067
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["relance", "healthcheck"]
ENTRYPOINT ["relance"]
CMD ["worker"]
