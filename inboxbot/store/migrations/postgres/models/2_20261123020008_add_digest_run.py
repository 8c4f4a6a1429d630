from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "digest_run" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "key" VARCHAR(64) NOT NULL UNIQUE,
    "week" VARCHAR(8) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "window_start" TIMESTAMPTZ NOT NULL,
    "window_end" TIMESTAMPTZ NOT NULL,
    "recipients" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_digest_run_week_b78055" ON "digest_run" ("week");
COMMENT ON TABLE "digest_run" IS 'One weekly digest: the record that makes the schedule survive restarts.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "digest_run";"""


MODELS_STATE = (
    "eJztXetT4zgS/1dU+cRUMdwQYIbdvbpaXnvDLQNTwN7sgy2j2Eriw5G8skxI7c3/fi35Eb"
    "+xs3k4Pn2hgqSW5F/r0d1qtf7sTZhFHG/vnGDrighBeO9b9GeP4gmBHwW5u6iHXXeeJxME"
    "HjiquAXlDGdecOAJjk0BWUPseGRXlvBMbrvCZlQSnKAJ8Tw8IshjE/gj5E+T+Y6FKBNojK"
    "nlANkTcQWajpkjyyFbIBNTNCCIE9fBM2IhPIQmEUZD+2VPtmwxE5q26WiVjfjU/sMnhmAj"
    "IsYKuN9+h2SbWuSFeNG/7pMxtIljpXC1LVmBSjfEzFVpl1T8oArK/g8Mkzn+hM4LuzMxZj"
    "QubVMhU0eEEo4FkdUL7kuIqe84IUMi1IOezosEXUzQWGSIfUcySlIHHZin9Qzj+ubeuLu4"
    "N4xejokRRQLyMMlkVA4A6Kqnvn4ku/C2v3/44fD44P3hMRRR3YxTPnwNmp4DExAqeK7ve1"
    "9VPhY4KKEwnoOKTWBqAEsa2bMx5sXQJkgy+ELHs/hGaFYBHCXMEZ6P/HVAPMEvMAHpSIwl"
    "ru/eVQD675Pbs48ntztQ6o1sksFUDabxdZjVD/Ik6nOUh8yxguldF+Q5RQcxPqqF8VEFxk"
    "d5jH3besaObdlilgf61B6VLhUZwtfXjGXh/W61a8Y3/f7BwYf+u4P3x0eHHz4cHb+LF498"
    "VtUqcnr5T7mQpFgRrSwp/BvjrvFeHG+Op8ZgJohXhDrFfFaMeoosg32cvmWrSxWWVzensu"
    "aJ5/3hhKvL6eX1ye0vO59Oflbry2QWZl3dXP8zKu8yT4y4qqh3+sv9xUkGfWiacIod2FhJ"
    "ngHnkCrsCSmRTTK0GS5YIfFe9KMGR0KRZAsYcn/56eLu/uTT5xRXzk/uL2ROP8WQKHXnfW"
    "YjiCtBXy7vPyL5L/r15voiy7m43P2vPdkn7AtmUDY1sJXEJEqOklKcVqJvk607Jujgzn3Q"
    "r7FxH/RL922ZlZ5IhHNWIBndk5eSbSMmWB+8vd4G5snFz/epKRKBWLxuRcUToJ/Jpexrdi"
    "wLv2DDqBzMIcUa4aZkuirE08N5/32N4byfXX3mw1lmpRE2OZFoGLhApareFdKUS9gTWreS"
    "wAdaN9SZhfvVlmwS4daa2yOknWL4lFCqZcIAm09TzC0jl8P6rKxsPmvSn2RTMIVdxQrBld"
    "2MzEz2iHji1qe9IhtUnLlbaYJSxQwelnvVAnVDCZoS8uTMUEAKKI2l0cdk3IKfWKAJfiKe"
    "SvXMMbF8aSDy+bP9LIvBosKFlzc6LaneB/pAH5/I7BHZQdHLuxtVL2LDFKmFPEIttPPQ67"
    "/rv3/75fDDQ+8NGjKeKRV0ZleauLCq6IFCzUArEKMmQWM2Jc+EQ/WCUEU7ZfwJEqIufQf9"
    "pj52VHse2nm06YC9DJgIq0Zv38qcxzdoRMQDxQh6H3bWhmqnFGHoJ1WNQI3w26YF/WSU7K"
    "Fz4gAafIZs4RFnqDAAdj5B/mD2QCUF8wU0DwXIBDrj+hymA0EP4TiQGMCC4RPVimoBRpWs"
    "hHowLGAMaEteCy15MGSabOxh8eXs6psFNrWlvz+ssaW/Pyzd0mVWekuXE74JslH5VQlMm8"
    "P2uAa0x6XIHmeBfYJvajRkw/JrlETjtXVb5dEpfB6IMmobaiqRZmk7KJNuiQxay1ARsosU"
    "TapajCaF00uzuV1sBmnYdm0ivyzH5n/d3VyXmH1TVFkW26ZA/0WO7a3M9t77+9CnSnhEA9"
    "92hE29PdnePzZgWpEoVZtWslaUDBtlBVnTilb8Ozv7WqLpf8K2A2rbmc89Vuhxki6wW6Xx"
    "T4Kihjkv+6rW/5FNIUs5c6jDaTTGHhoQ0HhdzkziecTaQ1KF51DQhfyd0FNgNyR4k9f4l1"
    "RngS76W8q1IThN/10rqNrVpD2HKdrVRLuaaNeHBVwfHOwJo7G/SZJKI/8XkPd8U27NC4i6"
    "BeTa+aFt4m6O342P6NNU+py+8Tm971oLKpNpyg4qk1t6ilww21Tv26VbXhHskV65ahnk79"
    "bRLJ246KuK5ZexbY6jI9MJnqEhEZDAQO3LqXsI/rEdNB0T2ljZXFE78rj5JKpWxOfTkkCS"
    "y1sRtoeGnBDEOCIvrs3lxQhqIQ5Tb+rJAlPiOKD3Dhkn6DEoIjfIx+8eKKZM6rTpBpg6bo"
    "ZZEF6wUCSzPXQHn+oQAVMGBVRijCkKeQJ0vkfiE90HqpiGprYYgwIOLRL+LHsWfCCSQwDt"
    "eETe/oB+/U1xdM+daZVbq9xbtF9olbsLKve4McbjDWC8MgF0DaN4vus0lTnTlB2UObdXxs"
    "xrdNj8w5cCyAJ8zpBqzb1tfG6JMnGj3AsvBZkUqRKJ3EpFInBSrKdBzG8rC6Z8LEE6hz7N"
    "pIQNm4A8RHq0iOW7xFB+oYEXKcEg/Ufej2PoCQjr0p+z6jb00urX7pPtEpXn7GsiZKSpOu"
    "dMeVBL0DioEDQO8oJGOCOawJwg6aDAvPxLVbG3TxOQU0SdhLnWYO5XDOZ+bjCH+4JRtCaX"
    "Q52m6p6j8GrWDTxzGC7AufwgIkHSiQGt7wsWjOoeyFWWRG0tQ3v5LtpYgCzsFrlzlgp1SZ"
    "LOHGX/RdFuDiiF9cAIIVpAzS0g1zaN1um6+pR647vDdrk8r1Ma6tLkktdcF2BxgkwbCtvM"
    "X2GbT0QUKjCl8keKZiEBpGUMXYYIkrO+ZjHOA/wD48Qe0R9JEKzpksrL3WaRnSM0nt7HFW"
    "0Xvl+jERSlzrsoA1JFNs70wILPh48mQgEAPUDXP11d9b5uxqj9ObqP8CnQ3XsFpu1cmd0q"
    "A3d8w8GYJIrXCr4gwwf41Iqt0tKZZCrDI0yxhyxi2haxVHwAW+yhsDNvL8+lH0owIr6d3+"
    "uXziE5g/cqGnmgmHP7GVpAUIkLP7E5+15Va7nse0kXhBW1tJW8rVby9pi7WmQl/+abOhfj"
    "oVSpUUDlZawC2nVHu+50wnVH35bRgVn/n/DmxCT280J2kQypNju2WnP2lPNHo9ORmKID5s"
    "Y1nK56/uA/xGwkBCVIOofxSrbnAbMK9uVys3lUvgPorttg7mA68htGE07SrBFyn64p5NWS"
    "Y4rBVxOnGb4hQQfF+eU7FsnQ5Q0jDyVIdNih6iVlkbBDjA5ti4RG44x12WG4ZBFPk2X4Mp"
    "R0K5P191Yl7VdAf37z0+nVBfp8e3F2eXcZsiGWJVWmTIIEO7A2316cXGUNMiAKThQYOaBP"
    "GXMIpiVWmSRd9sEFIFwV0HHKmh9cuLm5So3y08vszvjTp9OL2539N2nIi/w4iOUZnDzbQT"
    "zwBqBnSTXuDXBnvjDZpJGUkiDR+2gtB13sQYtN9tEEid5Hl76PYvPJkBehxyH09W3uaboO"
    "aEVrMLtvl+fQelee7YxvUfZKgvY00Z4m2tOkkafJne+6MOm84MNzTibJ7N0q/xIvU/D1W5"
    "QUwWSWJOFbG74n5IMUiDI0wRzgAuD30P1Y3mb0xvIZCfnURBDuJKLcCQOScOz5nBREYVlZ"
    "K8URSQICQ1al5F6TwTDXUUk2GpUkw5PaslaGrnv3ppb/eEWI2QIwL4xwyzaEdRxTqUWlAc"
    "QxwRrVBew469EY9mtpDPsVGsN+XmPwmM+LbJwVGMcUWifTOpnWyVoXJiQhyF6x0SuirixR"
    "V9o1nLBwjciDDJljTKF/ga/yvBJlTtsNIvgFns+zPfSRwYepklIG2Q1fZEsIpkVBB1fRhP"
    "aLbplI2zyYUlcXyy1ZHGt5eMHiUXSntMocLNZ+nTR6S3KLpbv2vwS3NgVlBfEFtk3dXpMU"
    "vXxleyv0wC1eJiwiwstqdZ0V5xQdQHgd7ort0w0++964V60cqCK1tQM3Kl3rqmVSXgdRXD"
    "35LJ9WRlM8k9EAZfTw2GyNvJknyCS4+OgS7oGAL0lkk+Gry8WvXi+9FRmU/Au3hXyQuuQV"
    "Z4QDPSMBpAxaHj5zbXJpfDcxpUwgh+BnUEAeaLKfynofqCdchjokXtJ+/7ijvsOwrV0kMA"
    "c95c1j8moojj50xKRtn8nag3Lq9ud3oO5gV8DHIcwJsi0ycZn8yrB7nAgeBT+HqnwK4xhz"
    "YKTt+LK8vEvKJ47Ulx7oLZt66qaqhDFsRNZqBU9lBw9dM26p8O6ysugzw8+T0daDuOuSJV"
    "FmxalD9OnBGJTt6SOHjepnSYbU3ZyTNB0UNJcv/oQjvQHEc4runeWsRAIKVu6GGmlI0cEx"
    "vDJlSZ+XrfK8bOs00i1elLdCJ93us8lAUFjg3YTnpcbIattS3SVDsA6EqgOh6kCoeplq+T"
    "KlA6Fu5F63DpHZvWnVEkN46IZfYP+eO+iXm73ntwFeNXaXM1b7mrTLlsnJkPDiG99Vj3sk"
    "iJZipmhRAL7DOkrdYblOd5h3N9WhfVbtM63wMtS/jWGOyTqH9Upce3XcmTzQS447owOjtO"
    "xC93ZYbJhL6JoWljqW5X65ZbmfsyzrOIcdVn9Sblcg/UtWFHO5xPEqQVPF3m6xVrIr67MG"
    "QHDfKQCvwmstQdMBCWft5hgdNXLlUSM9fzLBvNFbqQmSzmG8kgcPdfyrzcS/Gih3xoaIz4"
    "k01g2wlkEIhS1mxjPhNrTVNLpeIb3mQAMOgBQibSpNgU+Sabwb4B2omUYQzq2JVJgj7MAu"
    "um7R0HSYt9gd9yShPq1rs7qKKaOzib0Yn3PEmtdt5rUOWlHK5o4FrUi9aONaC3I9Tam53h"
    "auF0z2sPdJS5rr2CawwmDDZkEkCyh1KMlXQ0kmUcuDrQNKZgJKFgyyxmElUzG4B+ylQCcL"
    "6X748ZY4uORqT4j4jarjUpBJd1BPrQjhu5IFp3xNYCp6tbWDYMXj8y/C1bV5nL/KsRSALm"
    "RNWyhAlMK0ei/HALJSV8cY0df8HQ0Sl3z1ij9UymdhgC51Cx0FdXyLpmMWxObaDQJzXTMx"
    "Vm8XD2BtjsuFpB7ybAcadWb5+/2raUJ7ZbbLK3PbIoAlHICiAFJ7ngChbi+cdIYvTCmKb8"
    "IjqOWqSYHNSQcK04HCtt3pWYdXWutZxGaew2jdoO7aexhtA7iu/aL8QYyzk7uzk/OLTb2H"
    "cUK4bRaGAAtzKlUCPC+jr0Bt06SuErafZdCzZnFwEiQdFAb6R0d13LuPjsr9u2Ve5j4+TK"
    "omIm1QvIPorkSUhRZFaKaoe2MkQbL+GyObOZFe2t2Qjd7n/fo/AxO8EA=="
)
