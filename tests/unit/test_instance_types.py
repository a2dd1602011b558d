"""The instance catalog covers botocore's TrainingInstanceType enum with AWS's published figures."""

import subprocess
import sys

import botocore.session
import pytest

from app.hosts import instance_types


def _training_instance_types() -> set[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return set(model.shape_for("TrainingInstanceType").enum)


def test_table_covers_exactly_the_botocore_enum() -> None:
    enum = _training_instance_types()
    table = set(instance_types.INSTANCE_SHAPES)
    assert sorted(enum - table) == [], "missing from the catalog"
    assert sorted(table - enum) == [], "not a SageMaker training instance type"


@pytest.mark.parametrize(
    ("instance_type", "vcpus", "memory_gib", "gpus"),
    [
        ("ml.m5.large", 2, 8, 0),
        ("ml.m5.xlarge", 4, 16, 0),
        ("ml.c5.xlarge", 4, 8, 0),
        ("ml.c5.2xlarge", 8, 16, 0),
        ("ml.c4.xlarge", 4, 7.5, 0),
        ("ml.c5n.xlarge", 4, 10.5, 0),
        ("ml.t3.medium", 2, 4, 0),
        ("ml.r5.large", 2, 16, 0),
        ("ml.p2.16xlarge", 64, 732, 16),
        ("ml.p3.2xlarge", 8, 61, 1),
        ("ml.p3.16xlarge", 64, 488, 8),
        ("ml.p4d.24xlarge", 96, 1152, 8),
        ("ml.p5.48xlarge", 192, 2048, 8),
        ("ml.g4dn.xlarge", 4, 16, 1),
        ("ml.g4dn.12xlarge", 48, 192, 4),
        ("ml.g5.48xlarge", 192, 768, 8),
        ("ml.g6.xlarge", 4, 16, 1),
        ("ml.g6e.xlarge", 4, 32, 1),
        ("ml.trn1.2xlarge", 8, 32, 1),
        ("ml.trn1.32xlarge", 128, 512, 16),
        ("ml.trn2.48xlarge", 192, 2048, 16),
    ],
)
def test_published_figures(instance_type: str, vcpus: int, memory_gib: float, gpus: int) -> None:
    shape = instance_types.shape_for(instance_type)
    assert shape == instance_types.InstanceShape(vcpus=vcpus, memory_gib=memory_gib, gpus=gpus)


def test_every_value_is_positive_and_typed() -> None:
    for name, shape in instance_types.INSTANCE_SHAPES.items():
        assert isinstance(shape.vcpus, int) and shape.vcpus > 0, name
        assert isinstance(shape.memory_gib, float) and shape.memory_gib > 0, name
        assert isinstance(shape.gpus, int) and shape.gpus >= 0, name


def test_accelerated_families_have_accelerators_and_others_do_not() -> None:
    accelerated = ("ml.p", "ml.g", "ml.trn")
    for name, shape in instance_types.INSTANCE_SHAPES.items():
        assert (shape.gpus > 0) == name.startswith(accelerated), name


def test_unknown_type_raises_a_key_error() -> None:
    with pytest.raises(instance_types.UnknownInstanceType) as info:
        instance_types.shape_for("ml.m5.huge")
    assert isinstance(info.value, KeyError)
    assert "ml.m5.huge" in str(info.value)


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        instance_types.INSTANCE_SHAPES["ml.m5.large"] = instance_types.InstanceShape(1, 1.0, 0)  # type: ignore[index]


def test_importing_the_catalog_does_not_load_botocore() -> None:
    code = "import sys, app.hosts.instance_types; print('botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
