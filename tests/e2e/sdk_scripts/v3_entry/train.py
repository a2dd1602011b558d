"""The user's entry script for the SDK v3 script-mode tests (`SourceCode(source_dir=..., entry_script=...)`):
run by the SDK's own driver inside the VM, it reads its hyperparameters (as `--name value` arguments) and
the `train` channel, and writes a model; `--sleep-seconds` makes it outlive its stopping condition."""

import argparse
import json
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--greeting", default="")
parser.add_argument("--sleep-seconds", type=float, default=0.0)
args = parser.parse_args()

train_dir = os.environ["SM_CHANNEL_TRAIN"]
rows = 0
for name in os.listdir(train_dir):
    with open(os.path.join(train_dir, name)) as channel_file:
        rows += sum(1 for _ in channel_file)
for epoch in range(args.epochs):
    print(f"v3 entry epoch={epoch} rows={rows}", flush=True)
time.sleep(args.sleep_seconds)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as model:
    json.dump({"epochs": args.epochs, "greeting": args.greeting, "rows": rows, "cwd": os.getcwd()}, model)
print("v3 entry wrote the model", flush=True)
