from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "mailbox_lease" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "account" VARCHAR(200) NOT NULL,
    "folder" VARCHAR(500) NOT NULL,
    "holder" VARCHAR(200) NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "acquired_at" TIMESTAMP,
    CONSTRAINT "uid_mailbox_lea_account_df760a" UNIQUE ("account", "folder")
) /* Which worker may fetch one (account, folder) until when. One row per (account, folder). */;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "mailbox_lease";"""


MODELS_STATE = (
    "eJztXW1z2zYS/isYfXJmXF0s20na3txUdtyLr46dsdXrmzsMREISzyTAAqBkTS///QC+v5"
    "tURYni4YtHBnYB8FkQ2F0sln8ObGIgiw3fI2jcIM4RHXwD/hxgaCPxo6D2GAyg48R1soDD"
    "qeWRG4JOs2LCKeMU6lxUzaDF0LGkYDo1HW4SLBnGwEaMwTkCjNjiD5c/deJaBsCEgwXEhi"
    "XYnpDDwWpBLEkHTA50iMEUAYocC66RAeBMdAkgmJnPQ9mzQXTRtYnnbXbiYvMPF2mczBFf"
    "eMD99rsoNrGBnhEL/3WetJmJLCOFq2nIBrxyja8dr+wa8+89Qjn+qaYTy7VxTOys+YLgiN"
    "rEXJbOEUYUciSb59SVEGPXsgKBhKj7I41J/CEmeAw0g64lBSW5/QHEZQNNu72baA9XE00b"
    "5IQYciQgD4p0guUEEENl3tPP5RC+Gp2cvT17d/rm7J0g8YYZlbz94ncdA+MzevDcTgZfvH"
    "rIoU/hYRyDCnUhVB+WNLKXC0iLoU2wZPAVA8/iG6JZBXBYECMcz/xdQGzDZ/EC4jlfSFxf"
    "v64A9N/j+8sP4/sjQfVKdknEq+q/xrdB1civk6jHKM+IZfivd12QY44eYnxeC+PzCozP8x"
    "i7prGElmmYfJ0H+sKcly4VGcaX14xt4f263TXj69Ho9PTt6PXpm3fnZ2/fnr97HS0e+aqq"
    "VeTi+p9yIUmJIlxZUvg3xl3hvTneFK606ZojVoQ6hnRdjHqKLYN9VH5gq0sVljd3F7Jlm7"
    "E/rGB1ubi+Hd//cvRx/LO3vtjroOrm7vafIb1DGJ9Tr6HBxS+Tq3EGfdE1ohhaYmNFeQG8"
    "F6XctFGJbpLhzUjBCJiH4Y8aEglUkgMQyOT649XDZPzxU0oq78eTK1kzSgkkLD16k9kIok"
    "bAT9eTD0D+C369u73KSi6im/w6kGOCLicaJisNGklMwuKwKCVpT/VtsnVHDD3cuU9HNTbu"
    "01Hpvi2r0i8SopQUaEYT9FyybUQMu4N3MNjDe3L18yT1ioQgFq9bIXkC9Eu5lH3JzmXuFm"
    "wYlZM54Ngh3Bit2kI8PZ1P3tSYzifZ1SeezrIqjbBOkURDgwUmVfWukObcwp7QuZVEPKBx"
    "h611sF8dyCYRbK25PUL6KWZPCaNaFkyh/rSC1NByNWREymjzVfbIzpZALHYVIwBXDjNwM3"
    "2EpjUlz5cuZaTQD5UmOK5yRdk+qabHtC96oz6QlajyXDyeyQoWkIEpQhg4lOiIMWQMwR1G"
    "gApCR9QfBf6D44DhVd75tKU2C3xNv6UcHr6N/btyQCkHVHdULOWAUg4o5RDZwCFiQca1xl"
    "6oJJdC/i8gz1xdbs0baL4F7Mol0mWXiCewxoZ7mktZ742td9cxNrQt05zKtuzw2+aNvlu2"
    "5Q2CDA3KTUu//riOZWlFpC8alj8tTH0BVoQ+CQPPhmswQ1wUEGH25cw9IP4xLbBaINzY2G"
    "ypn0f8iMdhsxw+IQaEEeoxSHYZK2EyMKMIAUIBenZMKsMlsAGoePVWTBKskGUJu3dGKAKf"
    "fRK5QX7+9hFDTKRNm+6ALMVPIt6CIOzCY1kPwYN4VAtx8coAn4svIAaBTASfy5A3OCbE+4"
    "g9oYGVyRfCABc9IrqUI/MfEMgpAI4YkjEhYlx/8yQ6dNbK5FYm9wHtF8rk7oPJvWiM8WIP"
    "GLemgO5gFse7TlOdM83ZQ53zcHXMvEUH9T9cqYBsIOcMq7LcuybnjhgTdy4X2uY1R3aRKZ"
    "GorTQkiEdXz4KIY5g5AQxhQ2jnYkxrqWGLTUAeIn02kOE6SHtC689CIZZKNIJC+3dcKqBH"
    "YCFGIpR1gnVUFSO9tfZVeHS3VOVYfE2UjDTXdhSN/cKcDgKqpWicVigap3lFI3gjmsCcYO"
    "mhwrz9UCuKdNMxUTPLL8XUS5hrTeZRxWQe5SZzsC9oRWtyOdRprraw7tu6AdcWgQU4lx9E"
    "JFh6MaFVFGHBrB4IvcqQqO1kam8/kBByoQs7vADmUqUuydKbo+y/qNrFgGKxHmgBRBuYuQ"
    "XsyqfROVtXnVLvfXc4rAjoXWpDfXq5mLAINhBxgk05CrssX27qT4gXGjCl+keKZyMFpGMC"
    "3YYKkvO+ZjHOA/w9ocic4x+Qf4XzWowJYr3IzxE4TydRQ4eF75dwBoWl8RDlNdXQx5meWO"
    "LxxUMj7gEgRgBuf7y5GXzZj1P7U3gf4aNvuw8KXNs5muMqB3d0w0GzE+Qv+rplMIqJp8TF"
    "RuSVlsEkqwXkYAUZMJBuGsgAM0KByYcgGMxX1+9lHIo/I76JokC84JCcw7uNTh4xpNRcih"
    "6AaMQRP6G+/s5r1nDId5LPTzZiKC95V73k3XF3dchL/vXX72r4BARVqVPAq8t4BVTojgrd"
    "6UXojroto9K1/D/hTZGOzOVGfpEMq3I7dtpyZl7wR6PTkYijB+7GHZyuMnf6H6Q3UoISLL"
    "3DuJXteUqMgn253G0e0vcA3V07zC2I527DHENJnh1CLgz/3czpOqZTueGUM5vEUyOrGb4B"
    "Qw/V+e0HFsmEZrjoqPpfD3e3Ja6VmCWrz5g6B/8Flsla0ywHf5+5WJcogqlrWtzEbCj7+8"
    "celhQJUfWSkl09MjqLbCB3BkfwzDRQ4DTOeJctAksW8TRbRi4zydearj9sS9uvgP793Y8X"
    "N1fg0/3V5fXDdSCGSJf0KmWRKDB9b/P91fgm65ARqqDtgZED+oIQC0Fc4pVJ8mXTMArGto"
    "COSnachvHu7iY1yy+uszvjjx8vru6PTl6lIS+K40AG0yhamn6WsAagZ1kV7g1wJy7Xid1I"
    "S0mwqH20VoAuZKLHJvtogkXto1vfR6H+pMmL0IsA+vo+9zRfD6yiHbjdDytyaLcrz2Hmty"
    "jLnagiTVSkiYo0aRRp8uA6jnjpmP/guSCTZPVxVXwJyxC+fIsSA/EySxaZNoQD22UczBEH"
    "mAAbUgGXAH4IJgt5m5EtgFD6LHMZpDsJOY+ChCQUMpeigiwsrfVSnJHEZ9BkU57eqxMxzV"
    "VWkr1mJcnIpLauleHr372pN2c1dK03Z6WqlqzK6LU+ZhvAvDHCHdsQdnFM5S0qDSCOGHZo"
    "LkDL2o3FcFLLYjipsBhO8hYDIy4t8nFWYBxxKJtM2WTKJutcmpCEIntD5i+oupKirrarWQ"
    "FxjcyDBOgLiMX4/FjluBHPnXbsZ/DzI5/XQ/CBiAfzKKUOcgwwWno59iLFtCjpYBtdqLjo"
    "jqm0zZMp9XWxPJDFsVaEl1g8iu6UVrmD+c6vk8p7Gs9Twg9Yu3sycSOve0jfw7OmFvILHJ"
    "q5vSMtevvG9kHYgQe8TBiIB5fV6gYrxhw9QHgX4Yrdsw0+uWwxqDYOPJLa1oETUte6apnU"
    "14UqjjkgMqU3Ayu4ltkAZfbwyG0N2JpxZPsXHx1EmVDwJYvsEvgJDfMWQiu9yKTkP1GTc5"
    "mAHMcXMcUTYwb9k3zo2xkJIGXS8mP5fXcIdCqd7zrE8iPwFoJLYYA84uQ4Pe+9b55QmeoQ"
    "saT//vOR9xyaaRwDDqmwU159Tl4NheGDzon07RPZuk/n3f78Vpg70OHi4QCkCJgGsh0inz"
    "IYHkWchsnPRVMuFvMYUiFI03IlvbxLSm1L2kuP+J6smHdTVcIYdCJbFdPEXMr0jRIiQg0v"
    "vbtsLHzM4PFktnU/77oUSVhZceoQPro/B2V/6shhr/ZZUiB1N+ckTw8Vze2rP8FMbwBxzN"
    "G/s5xWNCB/5W5okQYcPZzDrRlL6ryszfOyg7NID3hRPgib9LDPJn1FYYPvJiy3miOra0t1"
    "nxzBKhGqSoSqEqGqZarjy5RKhLqXe90qRWb/XquOOMKDMPwC/3ccoF/u9o5vA7zo7C4XrI"
    "o16ZYvk6IZosU3vqs+7pFg2oqbokMJ+M7qGHVn5TbdWT7cVKX2aTtm2sNL8/5tDHPE1jus"
    "WwntVXln8kBvOe+MSozSsQvdh+GxIQ7CO1pY6niWR+We5VHOs6zyHPbY/EmFXQntX4qiWM"
    "olgVcJnirx9ku0UlzZmDUBBHWtAvAqotYSPD3QcHbujlFZI1vPGslc24a00bdSEyy9w7iV"
    "Dx6q/Ff7yX819cIZGyIeMymsG2AtkxByk6+1JaKm6Ktpdr1CfiWBBhIQWoj0qTQFPsmm8G"
    "6At29man46tyZaYY6xB7vorlVD3SJsszvuSUZ1WtdlcxVigte2uZmcc8xK1l2WtUpaUSrm"
    "niWtSH3RxjE2lHqaU0m9K1IveNmD0Sc9aY5l6kIUGpk1SyJZwKlSSb6YSjKJWh5slVAyk1"
    "CyYJI1TiuZysE9Jc8FNlnA9/0P98iCJVd7AsTvvDauObL7g3pqRQi+K1lwytcEpqKvtvYQ"
    "rGh+/kW4+vYe569ybAWgK9nSASoQpTC1H+XoQ1Ya6hgh+lK8o4Yiyhev+ItG6TpI0OXdQg"
    "d+G9+A1YL4ubmO/cRct4QvvG8XT8XaHNEFrAww0xKdWuv8/f52ulBRmd2Kyjy0DGCJAKAw"
    "gdSQcaHUDYOXTnO5LlXxfUQEddw0KfA5qURhKlHYoQc9q/RKOz2L2M/nMDo3qfv2PYyuAV"
    "zXf1H+QYzL8cPl+P3Vvr6HMUbU1AtTgAU1lSYBjGnUFahDeqmrlO2lTHrWLA9OgqWHysDo"
    "/LxOePf5eXl8t6zL3McXL1UTldYn7yG6raiyokceuCnq3hhJsOz+xsh+TqS3djdkr/d5v/"
    "wP9xqW1A=="
)
