"""Prints one DynamoDB item as the service stores it, typed ({"S": ..}, {"N": ..},
{"M": ..}), read with botocore (Debian python3-botocore), never through enlarger.
Usage: ddb_item.py TABLE KEY_ATTR KEY   (endpoint and keys from the AWS_* variables)"""
import json
import os
import sys

import botocore.session


def main():
    table, key_attr, key = sys.argv[1:4]
    c = botocore.session.get_session().create_client(
        "dynamodb", region_name=os.environ.get("AWS_REGION", "us-east-1"),
        endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
    r = c.get_item(TableName=table, Key={key_attr: {"S": key}}, ConsistentRead=True)
    print(json.dumps(r.get("Item")))


if __name__ == "__main__":
    main()
