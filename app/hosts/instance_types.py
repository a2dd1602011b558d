"""SageMaker training instance types and the resources one VM of each type gets.

Every value of botocore's ``TrainingInstanceType`` enum is listed once, with the vCPUs, memory (GiB)
and accelerators AWS publishes for it. The figures are AWS's EC2 instance-type specifications
(aws.amazon.com/ec2/instance-types and the "Amazon EC2 Instance Types" guide): an ``ml.<type>`` has
the vCPUs, memory and accelerators of the EC2 ``<type>``, as the SageMaker AI pricing page
(aws.amazon.com/sagemaker/pricing) lists them per ``ml.*`` type.

``gpus`` counts accelerator devices of any kind: NVIDIA GPUs, and also AWS Trainium chips (trn1,
trn2), AWS Inferentia chips (inf1, inf2) and Habana Gaudi cards (dl1) should such types appear in
the enum; a host offers them through the same "gpus" slot. Chips are counted, not NeuronCores.

The table is a literal on purpose: importing this module never loads botocore. A unit test checks
that the table covers the installed enum exactly, so a botocore upgrade that adds a type fails loudly.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["INSTANCE_SHAPES", "InstanceShape", "UnknownInstanceType", "shape_for"]


@dataclass(frozen=True, slots=True)
class InstanceShape:
    """Resources of one instance (one VM) of a type."""

    vcpus: int
    memory_gib: float
    gpus: int


class UnknownInstanceType(KeyError):
    """The name is not a SageMaker training instance type."""


# instance type: (vcpus, memory GiB, accelerators)
_TABLE: dict[str, tuple[int, float, int]] = {
    # --- general purpose -------------------------------------------------------------------------------
    "ml.m4.xlarge": (4, 16, 0),
    "ml.m4.2xlarge": (8, 32, 0),
    "ml.m4.4xlarge": (16, 64, 0),
    "ml.m4.10xlarge": (40, 160, 0),
    "ml.m4.16xlarge": (64, 256, 0),
    "ml.m5.large": (2, 8, 0),
    "ml.m5.xlarge": (4, 16, 0),
    "ml.m5.2xlarge": (8, 32, 0),
    "ml.m5.4xlarge": (16, 64, 0),
    "ml.m5.12xlarge": (48, 192, 0),
    "ml.m5.24xlarge": (96, 384, 0),
    "ml.m6i.large": (2, 8, 0),
    "ml.m6i.xlarge": (4, 16, 0),
    "ml.m6i.2xlarge": (8, 32, 0),
    "ml.m6i.4xlarge": (16, 64, 0),
    "ml.m6i.8xlarge": (32, 128, 0),
    "ml.m6i.12xlarge": (48, 192, 0),
    "ml.m6i.16xlarge": (64, 256, 0),
    "ml.m6i.24xlarge": (96, 384, 0),
    "ml.m6i.32xlarge": (128, 512, 0),
    "ml.m7i.large": (2, 8, 0),
    "ml.m7i.xlarge": (4, 16, 0),
    "ml.m7i.2xlarge": (8, 32, 0),
    "ml.m7i.4xlarge": (16, 64, 0),
    "ml.m7i.8xlarge": (32, 128, 0),
    "ml.m7i.12xlarge": (48, 192, 0),
    "ml.m7i.16xlarge": (64, 256, 0),
    "ml.m7i.24xlarge": (96, 384, 0),
    "ml.m7i.48xlarge": (192, 768, 0),
    "ml.m7i-flex.large": (2, 8, 0),
    "ml.m7i-flex.xlarge": (4, 16, 0),
    "ml.m7i-flex.2xlarge": (8, 32, 0),
    "ml.m7i-flex.4xlarge": (16, 64, 0),
    "ml.m7i-flex.8xlarge": (32, 128, 0),
    "ml.m7i-flex.12xlarge": (48, 192, 0),
    "ml.m7i-flex.16xlarge": (64, 256, 0),
    "ml.m8i.large": (2, 8, 0),
    "ml.m8i.xlarge": (4, 16, 0),
    "ml.m8i.2xlarge": (8, 32, 0),
    "ml.m8i.4xlarge": (16, 64, 0),
    "ml.m8i.8xlarge": (32, 128, 0),
    "ml.m8i.12xlarge": (48, 192, 0),
    "ml.m8i.16xlarge": (64, 256, 0),
    "ml.m8i.24xlarge": (96, 384, 0),
    "ml.m8i.32xlarge": (128, 512, 0),
    "ml.m8i.48xlarge": (192, 768, 0),
    "ml.m8i.96xlarge": (384, 1536, 0),
    "ml.m8i-flex.large": (2, 8, 0),
    "ml.m8i-flex.xlarge": (4, 16, 0),
    "ml.m8i-flex.2xlarge": (8, 32, 0),
    "ml.m8i-flex.4xlarge": (16, 64, 0),
    "ml.m8i-flex.8xlarge": (32, 128, 0),
    "ml.m8i-flex.12xlarge": (48, 192, 0),
    "ml.m8i-flex.16xlarge": (64, 256, 0),
    "ml.t3.medium": (2, 4, 0),
    "ml.t3.large": (2, 8, 0),
    "ml.t3.xlarge": (4, 16, 0),
    "ml.t3.2xlarge": (8, 32, 0),
    # --- compute optimized -----------------------------------------------------------------------------
    "ml.c4.xlarge": (4, 7.5, 0),
    "ml.c4.2xlarge": (8, 15, 0),
    "ml.c4.4xlarge": (16, 30, 0),
    "ml.c4.8xlarge": (36, 60, 0),
    "ml.c5.xlarge": (4, 8, 0),
    "ml.c5.2xlarge": (8, 16, 0),
    "ml.c5.4xlarge": (16, 32, 0),
    "ml.c5.9xlarge": (36, 72, 0),
    "ml.c5.18xlarge": (72, 144, 0),
    "ml.c5n.xlarge": (4, 10.5, 0),
    "ml.c5n.2xlarge": (8, 21, 0),
    "ml.c5n.4xlarge": (16, 42, 0),
    "ml.c5n.9xlarge": (36, 96, 0),
    "ml.c5n.18xlarge": (72, 192, 0),
    "ml.c6i.xlarge": (4, 8, 0),
    "ml.c6i.2xlarge": (8, 16, 0),
    "ml.c6i.4xlarge": (16, 32, 0),
    "ml.c6i.8xlarge": (32, 64, 0),
    "ml.c6i.12xlarge": (48, 96, 0),
    "ml.c6i.16xlarge": (64, 128, 0),
    "ml.c6i.24xlarge": (96, 192, 0),
    "ml.c6i.32xlarge": (128, 256, 0),
    "ml.c7i.large": (2, 4, 0),
    "ml.c7i.xlarge": (4, 8, 0),
    "ml.c7i.2xlarge": (8, 16, 0),
    "ml.c7i.4xlarge": (16, 32, 0),
    "ml.c7i.8xlarge": (32, 64, 0),
    "ml.c7i.12xlarge": (48, 96, 0),
    "ml.c7i.16xlarge": (64, 128, 0),
    "ml.c7i.24xlarge": (96, 192, 0),
    "ml.c7i.48xlarge": (192, 384, 0),
    "ml.c7i-flex.xlarge": (4, 8, 0),
    "ml.c7i-flex.2xlarge": (8, 16, 0),
    "ml.c7i-flex.4xlarge": (16, 32, 0),
    "ml.c7i-flex.8xlarge": (32, 64, 0),
    "ml.c7i-flex.12xlarge": (48, 96, 0),
    "ml.c7i-flex.16xlarge": (64, 128, 0),
    "ml.c8i.xlarge": (4, 8, 0),
    "ml.c8i.2xlarge": (8, 16, 0),
    "ml.c8i.4xlarge": (16, 32, 0),
    "ml.c8i.8xlarge": (32, 64, 0),
    "ml.c8i.12xlarge": (48, 96, 0),
    "ml.c8i.16xlarge": (64, 128, 0),
    "ml.c8i.24xlarge": (96, 192, 0),
    "ml.c8i.32xlarge": (128, 256, 0),
    "ml.c8i.48xlarge": (192, 384, 0),
    "ml.c8i.96xlarge": (384, 768, 0),
    "ml.c8i-flex.xlarge": (4, 8, 0),
    "ml.c8i-flex.2xlarge": (8, 16, 0),
    "ml.c8i-flex.4xlarge": (16, 32, 0),
    "ml.c8i-flex.8xlarge": (32, 64, 0),
    "ml.c8i-flex.12xlarge": (48, 96, 0),
    "ml.c8i-flex.16xlarge": (64, 128, 0),
    # --- memory optimized ------------------------------------------------------------------------------
    "ml.r5.large": (2, 16, 0),
    "ml.r5.xlarge": (4, 32, 0),
    "ml.r5.2xlarge": (8, 64, 0),
    "ml.r5.4xlarge": (16, 128, 0),
    "ml.r5.8xlarge": (32, 256, 0),
    "ml.r5.12xlarge": (48, 384, 0),
    "ml.r5.16xlarge": (64, 512, 0),
    "ml.r5.24xlarge": (96, 768, 0),
    "ml.r5d.large": (2, 16, 0),
    "ml.r5d.xlarge": (4, 32, 0),
    "ml.r5d.2xlarge": (8, 64, 0),
    "ml.r5d.4xlarge": (16, 128, 0),
    "ml.r5d.8xlarge": (32, 256, 0),
    "ml.r5d.12xlarge": (48, 384, 0),
    "ml.r5d.16xlarge": (64, 512, 0),
    "ml.r5d.24xlarge": (96, 768, 0),
    "ml.r6i.large": (2, 16, 0),
    "ml.r6i.xlarge": (4, 32, 0),
    "ml.r6i.2xlarge": (8, 64, 0),
    "ml.r6i.4xlarge": (16, 128, 0),
    "ml.r6i.8xlarge": (32, 256, 0),
    "ml.r6i.12xlarge": (48, 384, 0),
    "ml.r6i.16xlarge": (64, 512, 0),
    "ml.r6i.24xlarge": (96, 768, 0),
    "ml.r6i.32xlarge": (128, 1024, 0),
    "ml.r7i.large": (2, 16, 0),
    "ml.r7i.xlarge": (4, 32, 0),
    "ml.r7i.2xlarge": (8, 64, 0),
    "ml.r7i.4xlarge": (16, 128, 0),
    "ml.r7i.8xlarge": (32, 256, 0),
    "ml.r7i.12xlarge": (48, 384, 0),
    "ml.r7i.16xlarge": (64, 512, 0),
    "ml.r7i.24xlarge": (96, 768, 0),
    "ml.r7i.48xlarge": (192, 1536, 0),
    "ml.r8i.large": (2, 16, 0),
    "ml.r8i.xlarge": (4, 32, 0),
    "ml.r8i.2xlarge": (8, 64, 0),
    "ml.r8i.4xlarge": (16, 128, 0),
    "ml.r8i.8xlarge": (32, 256, 0),
    "ml.r8i.12xlarge": (48, 384, 0),
    "ml.r8i.16xlarge": (64, 512, 0),
    "ml.r8i.24xlarge": (96, 768, 0),
    "ml.r8i.32xlarge": (128, 1024, 0),
    "ml.r8i.48xlarge": (192, 1536, 0),
    "ml.r8i.96xlarge": (384, 3072, 0),
    "ml.r8i-flex.large": (2, 16, 0),
    "ml.r8i-flex.xlarge": (4, 32, 0),
    "ml.r8i-flex.2xlarge": (8, 64, 0),
    "ml.r8i-flex.4xlarge": (16, 128, 0),
    "ml.r8i-flex.8xlarge": (32, 256, 0),
    "ml.r8i-flex.12xlarge": (48, 384, 0),
    "ml.r8i-flex.16xlarge": (64, 512, 0),
    # --- accelerated: NVIDIA GPUs ----------------------------------------------------------------------
    "ml.p2.xlarge": (4, 61, 1),  # K80
    "ml.p2.8xlarge": (32, 488, 8),
    "ml.p2.16xlarge": (64, 732, 16),
    "ml.p3.2xlarge": (8, 61, 1),  # V100
    "ml.p3.8xlarge": (32, 244, 4),
    "ml.p3.16xlarge": (64, 488, 8),
    "ml.p3dn.24xlarge": (96, 768, 8),
    "ml.p4d.24xlarge": (96, 1152, 8),  # A100 40 GB
    "ml.p4de.24xlarge": (96, 1152, 8),  # A100 80 GB
    "ml.p5.4xlarge": (16, 256, 1),  # H100
    "ml.p5.48xlarge": (192, 2048, 8),
    "ml.p5e.48xlarge": (192, 2048, 8),  # H200
    "ml.p5en.48xlarge": (192, 2048, 8),
    "ml.p6-b200.48xlarge": (192, 2048, 8),  # B200
    "ml.p6-b300.48xlarge": (192, 4096, 8),  # B300
    "ml.p6e-gb200.36xlarge": (144, 960, 4),  # GB200 (Grace CPUs)
    "ml.g4dn.xlarge": (4, 16, 1),  # T4
    "ml.g4dn.2xlarge": (8, 32, 1),
    "ml.g4dn.4xlarge": (16, 64, 1),
    "ml.g4dn.8xlarge": (32, 128, 1),
    "ml.g4dn.12xlarge": (48, 192, 4),
    "ml.g4dn.16xlarge": (64, 256, 1),
    "ml.g5.xlarge": (4, 16, 1),  # A10G
    "ml.g5.2xlarge": (8, 32, 1),
    "ml.g5.4xlarge": (16, 64, 1),
    "ml.g5.8xlarge": (32, 128, 1),
    "ml.g5.12xlarge": (48, 192, 4),
    "ml.g5.16xlarge": (64, 256, 1),
    "ml.g5.24xlarge": (96, 384, 4),
    "ml.g5.48xlarge": (192, 768, 8),
    "ml.g6.xlarge": (4, 16, 1),  # L4
    "ml.g6.2xlarge": (8, 32, 1),
    "ml.g6.4xlarge": (16, 64, 1),
    "ml.g6.8xlarge": (32, 128, 1),
    "ml.g6.12xlarge": (48, 192, 4),
    "ml.g6.16xlarge": (64, 256, 1),
    "ml.g6.24xlarge": (96, 384, 4),
    "ml.g6.48xlarge": (192, 768, 8),
    "ml.g6e.xlarge": (4, 32, 1),  # L40S
    "ml.g6e.2xlarge": (8, 64, 1),
    "ml.g6e.4xlarge": (16, 128, 1),
    "ml.g6e.8xlarge": (32, 256, 1),
    "ml.g6e.12xlarge": (48, 384, 4),
    "ml.g6e.16xlarge": (64, 512, 1),
    "ml.g6e.24xlarge": (96, 768, 4),
    "ml.g6e.48xlarge": (192, 1536, 8),
    "ml.g7.2xlarge": (8, 32, 1),  # RTX PRO 4500 Blackwell
    "ml.g7.4xlarge": (16, 64, 1),
    "ml.g7.8xlarge": (32, 128, 1),
    "ml.g7.12xlarge": (48, 192, 2),
    "ml.g7.24xlarge": (96, 384, 4),
    "ml.g7.48xlarge": (192, 768, 8),
    "ml.g7e.2xlarge": (8, 64, 1),  # RTX PRO 6000 Blackwell
    "ml.g7e.4xlarge": (16, 128, 1),
    "ml.g7e.8xlarge": (32, 256, 1),
    "ml.g7e.12xlarge": (48, 512, 2),
    "ml.g7e.24xlarge": (96, 1024, 4),
    "ml.g7e.48xlarge": (192, 2048, 8),
    # --- accelerated: AWS Trainium (chips counted as gpus) ---------------------------------------------
    "ml.trn1.2xlarge": (8, 32, 1),
    "ml.trn1.32xlarge": (128, 512, 16),
    "ml.trn1n.32xlarge": (128, 512, 16),
    "ml.trn2.48xlarge": (192, 2048, 16),
}

INSTANCE_SHAPES: Mapping[str, InstanceShape] = MappingProxyType(
    {name: InstanceShape(vcpus=v, memory_gib=float(m), gpus=g) for name, (v, m, g) in _TABLE.items()}
)


def shape_for(instance_type: str) -> InstanceShape:
    """Resources of one VM of `instance_type`; raises UnknownInstanceType for any other name."""
    try:
        return INSTANCE_SHAPES[instance_type]
    except KeyError:
        raise UnknownInstanceType(instance_type) from None
