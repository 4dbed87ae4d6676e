"""The consumer a Python user would write for one model version: the yardstick `npm run bench` compares ours with.

    python bench/reference/consumer.py --topic images.requests.v1 --model models/fashion-mnist/v1

One process, one thread. Per poll of up to --batch records: Avro-decode through the registry, open each
file:// image with Pillow and preprocess it as the model's manifest says (preprocess.py: resampled with Pillow, or
with OpenCV for a model whose authors use it, --resize-with opencv), one onnxruntime call (model.py), produce one
Avro Prediction per image, flush, then commit. Deliberately plain: no threads, no tricks.
"""

import argparse
import signal
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from model import ReferenceModel
from preprocess import RESIZE_WITH

parser = argparse.ArgumentParser()
parser.add_argument("--brokers", default="127.0.0.1:9092")
parser.add_argument("--registry", default="http://127.0.0.1:8081/apis/ccompat/v7")
parser.add_argument("--topic", required=True)
parser.add_argument("--predictions", default="images.predictions")
parser.add_argument("--group", default="python-reference")
parser.add_argument("--model", required=True, help="folder with manifest.json and the ONNX file")
parser.add_argument("--batch", type=int, default=32)
parser.add_argument("--stop-after", type=int, default=0, help="exit after this many records (0: run until SIGTERM)")
parser.add_argument("--consumer-id", default="python-reference")
parser.add_argument("--resize-with", choices=RESIZE_WITH, default="pillow",
                    help="the library the model's authors resample with (bench/reference/preprocess.py)")
args = parser.parse_args()

runner = ReferenceModel(args.model, args.resize_with)
manifest, labels = runner.manifest, runner.labels

registry = SchemaRegistryClient({"url": args.registry})
deserialize = AvroDeserializer(registry)
serialize = AvroSerializer(registry, (Path(__file__).parents[2] / "schemas" / "prediction.avsc").read_text())
consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": args.group,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
producer = Producer({"bootstrap.servers": args.brokers, "acks": "all"})
consumer.subscribe([args.topic])

running = True
signal.signal(signal.SIGTERM, lambda *_: globals().update(running=False))
seen = 0
while running and (args.stop_after == 0 or seen < args.stop_after):
    messages = [m for m in consumer.consume(num_messages=args.batch, timeout=1.0) if m.error() is None]
    if not messages:
        continue
    started = time.time() * 1000
    requests = [deserialize(m.value(), SerializationContext(m.topic(), MessageField.VALUE)) for m in messages]
    inputs = [runner.prepare(unquote(urlparse(r["uri"]).path)) for r in requests]
    preprocessed = time.time() * 1000
    scores = runner.scores([tensor for tensor, _ in inputs])
    inferred = time.time() * 1000
    for request, (_, stats), row in zip(requests, inputs, scores):
        top = np.argsort(-row)[:5]
        now = time.time() * 1000
        submitted = request["submitted_at"].timestamp() * 1000
        prediction = {
            "request_id": request["request_id"], "model_name": manifest["name"], "model_version": request["model_version"],
            "experiment_id": request["experiment_id"], "rule_id": request["rule_id"], "shadow": request["shadow"],
            "stickiness_key": request["stickiness_key"], "predicted_index": int(top[0]), "predicted_label": labels[top[0]],
            "confidence": float(row[top[0]]), "top_k": [{"index": int(i), "label": labels[i], "score": float(row[i])} for i in top],
            "timings": {"queue_wait_ms": max(0.0, started - submitted), "fetch_ms": 0.0, "preprocess_ms": (preprocessed - started) / len(requests),
                        "inference_ms": inferred - preprocessed, "total_ms": max(0.0, now - submitted)},
            "input_stats": stats, "batch_size": len(requests), "submitted_at": int(submitted), "predicted_at": int(now),
            "consumer_id": args.consumer_id,
        }
        producer.produce(args.predictions, key=request["request_id"],
                         value=serialize(prediction, SerializationContext(args.predictions, MessageField.VALUE)))
    producer.flush()
    consumer.commit(asynchronous=False)
    seen += len(messages)

consumer.close()
