# One image for every Python service of the assistant; docker-compose.yml picks the command:
#   rasa      python -m rasa run ...            (NLU + dialogue, REST and web chat channels)
#   actions   python -m rasa_sdk --actions actions
#   webchat   python -m assistant.demo_site     (demo municipality page with the chat widget)
#   retention python -m assistant.retention     (daily purge of conversations past the retention period)
# Build after `make train`: the trained model (models/assistant.tar.gz) and the Dutch spaCy
# pipeline it loads at run time (models/spacy-nl) are copied into the image.
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONWARNINGS=ignore::DeprecationWarning

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install pip==24.0 && pip install -r requirements.txt

COPY assistant/ assistant/
COPY actions/ actions/
COPY channels/ channels/
COPY rasa_sdk_plugins/ rasa_sdk_plugins/
COPY webchat/ webchat/
COPY models/ models/
COPY credentials.yml endpoints.yml ./
COPY deploy/endpoints.production.yml deploy/credentials.production.yml deploy/

# Run as an unprivileged user; it only needs to write its home (Rasa and matplotlib caches).
RUN useradd --create-home --uid 10001 assistant
USER assistant

EXPOSE 5005 5055 8080
CMD ["python", "-m", "rasa", "run", "--model", "models/assistant.tar.gz", "--port", "5005", \
     "--credentials", "deploy/credentials.production.yml", \
     "--endpoints", "deploy/endpoints.production.yml"]
