"""The op names of the FBNet search space, as data (torch-free).

``hwnas.space`` builds its spaces from them (``hwnas.ops`` turns a name into a block); code
that only reads or writes names (test data, reports) imports them from here without torch.
An op name is ``k<kernel>_e<expansion>[_g<groups>]`` or ``skip`` (``hwnas.ops.parse_op``).
"""

__all__ = ["FBNET_OPS"]

# FBNet's nine candidate blocks, in the order a space lists them (SearchSpace.ops)
FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
