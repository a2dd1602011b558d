"""The /opt/ml contract: layout, the configuration files, and the SM_* environment of a training VM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.runtime import contract, sm_env


def _spec(**overrides: object) -> contract.VmSpec:
    fields: dict[str, object] = {
        "job_name": "churn-1",
        "job_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-1",
        "host": "algo-2",
        "hosts": ("algo-1", "algo-2"),
        "instance_type": "ml.m5.xlarge",
        "vcpus": 4,
        "gpus": 0,
        "memory_mib": 16384,
        "hyperparameters": {
            "epochs": "10",
            "learning_rate": "0.01",
            "hidden_layers": "64,32",
            "use_bias": "true",
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": "s3://bucket/code/sourcedir.tar.gz",
        },
        "channels": (
            contract.ChannelSpec(name="train", content_type="text/csv"),
            contract.ChannelSpec(name="validation"),
        ),
        "environment": {"MY_FLAG": "1", "OMP_NUM_THREADS": "1", "SM_MODEL_DIR": "/elsewhere"},
        "training_image": "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1",
    }
    fields.update(overrides)
    return contract.VmSpec(**fields)  # type: ignore[arg-type]


def test_layout_places_everything_under_the_root(tmp_path: Path) -> None:
    paths = contract.layout(tmp_path)
    assert paths.hyperparameters_file == tmp_path / "input/config/hyperparameters.json"
    assert paths.resource_config_file == tmp_path / "input/config/resourceconfig.json"
    assert paths.input_data_config_file == tmp_path / "input/config/inputdataconfig.json"
    assert paths.channel_dir("train") == tmp_path / "input/data/train"
    assert paths.model_dir == tmp_path / "model"
    assert paths.output_data_dir == tmp_path / "output/data"
    assert paths.failure_file == tmp_path / "output/failure"
    assert paths.checkpoints_dir == tmp_path / "checkpoints"
    assert paths.code_dir == tmp_path / "code"


def test_write_config_creates_the_tree_and_the_three_files(tmp_path: Path) -> None:
    paths = contract.write_config(_spec(), tmp_path)
    for directory in (
        "model",
        "output/data",
        "checkpoints",
        "code",
        "input/data/train",
        "input/data/validation",
    ):
        assert (tmp_path / directory).is_dir(), directory
    assert json.loads(paths.hyperparameters_file.read_text())["epochs"] == "10"
    resources = json.loads(paths.resource_config_file.read_text())
    assert resources == {
        "current_host": "algo-2",
        "current_instance_type": "ml.m5.xlarge",
        "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1", "algo-2"],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": "ml.m5.xlarge",
                "hosts": ["algo-1", "algo-2"],
            }
        ],
        "network_interface_name": "eth0",
    }
    channels = json.loads(paths.input_data_config_file.read_text())
    assert channels["train"] == {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    }
    assert "ContentType" not in channels["validation"]


def test_read_spec_round_trips_what_write_config_wrote(tmp_path: Path) -> None:
    spec = _spec(container_entrypoint=("python", "train.py"), container_arguments=("--x", "1"))
    contract.write_config(spec, tmp_path)
    assert contract.read_spec(tmp_path) == spec


def test_environment_names_and_values_follow_the_toolkit(tmp_path: Path) -> None:
    env = sm_env.environment(_spec(), tmp_path)
    assert env["SM_MODEL_DIR"] == str(tmp_path / "model")
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "input/data/train")
    assert env["SM_CHANNEL_VALIDATION"] == str(tmp_path / "input/data/validation")
    # JSON-decoded where possible; toolkit parameters stay out of SM_HPS.
    assert json.loads(env["SM_HPS"]) == {
        "epochs": 10,
        "learning_rate": 0.01,
        "hidden_layers": "64,32",
        "use_bias": True,
    }
    assert env["SM_HP_EPOCHS"] == "10"
    assert env["SM_HP_HIDDEN_LAYERS"] == "64,32"
    assert env["SM_HP_USE_BIAS"] == "true"
    assert "SM_HP_SAGEMAKER_PROGRAM" not in env
    assert json.loads(env["SM_USER_ARGS"]) == [
        "--epochs",
        "10",
        "--hidden_layers",
        "64,32",
        "--learning_rate",
        "0.01",
        "--use_bias",
        "True",
    ]
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"]
    assert env["SM_CURRENT_HOST"] == "algo-2"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.xlarge"
    assert (env["SM_NUM_CPUS"], env["SM_NUM_GPUS"]) == ("4", "0")
    assert env["SM_OUTPUT_DATA_DIR"] == str(tmp_path / "output/data")
    assert env["SM_OUTPUT_DIR"] == str(tmp_path / "output")
    assert env["SM_INPUT_DIR"] == str(tmp_path / "input")
    assert env["SM_INPUT_CONFIG_DIR"] == str(tmp_path / "input/config")
    assert json.loads(env["SM_INPUT_DATA_CONFIG"])["train"]["ContentType"] == "text/csv"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_host"] == "algo-2"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    assert env["SM_LOG_LEVEL"] == "20"
    assert env["SM_MODULE_DIR"] == "s3://bucket/code/sourcedir.tar.gz"
    assert (env["SM_USER_ENTRY_POINT"], env["SM_MODULE_NAME"]) == ("train.py", "train")
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {}
    assert env["TRAINING_JOB_NAME"] == "churn-1"
    assert env["TRAINING_JOB_ARN"].endswith(":training-job/churn-1")
    assert env["SAGEMAKER_BASE_DIR"] == str(tmp_path)


def test_training_env_is_the_whole_environment_as_json(tmp_path: Path) -> None:
    training_env = json.loads(sm_env.environment(_spec(), tmp_path)["SM_TRAINING_ENV"])
    assert training_env["channel_input_dirs"]["train"] == str(tmp_path / "input/data/train")
    assert training_env["hyperparameters"]["epochs"] == 10
    assert training_env["job_name"] == "churn-1"
    assert training_env["master_hostname"] == "algo-1"
    assert training_env["is_master"] is False
    assert training_env["num_cpus"] == 4


def test_request_environment_may_lower_thread_caps_but_not_move_the_contract(tmp_path: Path) -> None:
    env = sm_env.environment(_spec(), tmp_path)
    assert env["OMP_NUM_THREADS"] == "1"  # the request's value
    assert env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["NUMEXPR_NUM_THREADS"] == "4"
    assert env["MY_FLAG"] == "1"
    assert env["SM_MODEL_DIR"] == str(tmp_path / "model")


def test_without_toolkit_hyperparameters_the_module_dir_is_the_code_dir(tmp_path: Path) -> None:
    env = sm_env.environment(_spec(hyperparameters={"k": "3"}, channels=()), tmp_path)
    assert env["SM_MODULE_DIR"] == str(tmp_path / "code")
    assert env["SM_USER_ENTRY_POINT"] == ""
    assert json.loads(env["SM_CHANNELS"]) == []
    assert env["SM_HP_K"] == "3"


def test_spec_refuses_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="not one of the job's hosts"):
        _spec(host="algo-3")
    with pytest.raises(ValueError, match="invalid channel name"):
        contract.ChannelSpec(name="..")
    with pytest.raises(ValueError, match="duplicate channel"):
        _spec(channels=(contract.ChannelSpec(name="train"), contract.ChannelSpec(name="train")))


def test_hostnames_follow_sagemaker() -> None:
    assert contract.hostnames(3) == ("algo-1", "algo-2", "algo-3")


def test_user_args_encode_like_the_toolkit() -> None:
    assert sm_env.user_args({"b": 1, "lr": 0.5, "opts": {"y": 2, "x": 1}, "none": None}) == [
        "-b",
        "1",
        "--lr",
        "0.5",
        "--none",
        "",
        "--opts",
        "x=1,y=2",
    ]
