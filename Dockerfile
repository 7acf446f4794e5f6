# syntax=docker/dockerfile:1
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY visibility ./visibility
RUN pip install --no-cache-dir --prefix=/install '.[postgres]'

FROM python:3.12-slim
# tzdata: without the zoneinfo database posts would shift by hours.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 visibility \
    && mkdir /data && chown visibility /data
COPY --from=build /install /usr/local
ENV VISIBILITY_DATA_DIR=/data PYTHONUNBUFFERED=1
VOLUME /data
USER visibility
STOPSIGNAL SIGTERM
CMD ["visibility", "run"]
